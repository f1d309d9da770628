"""VGGish configuration (the 128-d music features of the EmoMV release)."""

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig


@strict
class VGGishConfig(PreTrainedConfig):
    r"""
    Configuration of [`VGGishModel`], Google's VGGish audio network in the layer layout of the PyTorch port
    `harritaylor/torchvggish` (`vggish-10086976.pth`): six 3x3 convolutions with four 2x2 max-pools, then three
    fully connected layers, every layer followed by a ReLU.

    Args:
        num_mel_bins (`int`, defaults to 64):
            Mel bands of an input example (its width).
        num_frames (`int`, defaults to 96):
            10 ms log-mel frames of an input example (its height; 96 frames = 0.96 s).
        hidden_size (`int`, defaults to 4096):
            Width of the two hidden fully connected layers.
        embedding_size (`int`, defaults to 128):
            Width of an embedding (the last fully connected layer, after its ReLU).
        has_pca (`bool`, defaults to `False`):
            Whether the checkpoint carries the PCA parameters of the TF release (`vggish_pca_params`), for
            [`VGGishModel.postprocess`]. The EmoMV features are the embeddings *without* this post-processing.
        random_weights (`bool`, defaults to `False`):
            Whether the weights are random (`convert_weights.py --random-init`, to try the pipeline offline): the
            features mean nothing, and extraction cards say so.
    """

    model_type = "vggish"

    num_mel_bins: int = 64
    num_frames: int = 96
    hidden_size: int = 4096
    embedding_size: int = 128
    has_pca: bool = False
    random_weights: bool = False

    def validate_architecture(self):
        """Part of `@strict` validation: four 2x2 max-pools need both input sides divisible by 16."""
        for name in ("num_mel_bins", "num_frames"):
            value = getattr(self, name)
            if value < 16 or value % 16:
                raise ValueError(f"`{name}` must be a positive multiple of 16, got {value}.")
        for name in ("hidden_size", "embedding_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {getattr(self, name)}.")
