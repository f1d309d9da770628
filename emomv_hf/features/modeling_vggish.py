"""PyTorch VGGish (Hershey et al. 2017, "CNN architectures for large-scale audio classification") in the layer
layout of the PyTorch port `harritaylor/torchvggish`, whose state dict (`vggish-10086976.pth`) is this model's
state dict as is. The EmoMV music features are its 128-d post-ReLU embeddings averaged over a segment's 0.96 s
examples, without the PCA + 8-bit quantisation of the TF release (:meth:`VGGishModel.postprocess` offers it).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_vggish import VGGishConfig
from .modeling_extractor import AlignedPreTrainedModel

_CONV_LAYOUT = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")


@dataclass
class VGGishModelOutput(ModelOutput):
    r"""
    Output of [`VGGishModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(B, E, embedding_size)`):
            Post-ReLU embedding of every 0.96 s example (zeros where `attention_mask` is 0).
        pooler_output (`torch.FloatTensor` of shape `(B, embedding_size)`):
            Mean of the embeddings over each segment's examples: the EmoMV music feature.
    """

    last_hidden_state: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None


class VGGishPreTrainedModel(AlignedPreTrainedModel):
    """Weight initialisation and loading for [`VGGishModel`]."""

    config: VGGishConfig
    base_model_prefix = "vggish"
    main_input_name = "input_features"
    input_modalities = ("audio",)

    def _init_weights(self, module: nn.Module) -> None:
        """Convolutions and linear layers: PyTorch's default (uniform Kaiming); PCA parameters: identity / zero."""
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            fan_in = module.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, VGGishModel) and module.config.has_pca:
            init.copy_(module.pca_eigen_vectors, torch.eye(module.config.embedding_size))
            init.zeros_(module.pca_means)


class VGGishModel(VGGishPreTrainedModel):
    """
    VGGish: log-mel examples `(B, E, 1, num_frames, num_mel_bins)` to per-example 128-d embeddings and their
    per-segment mean. State-dict keys are the port's (`features.N.*`, `embeddings.N.*`, and with
    `config.has_pca` the buffers `pca_eigen_vectors`, `pca_means`).
    """

    def __init__(self, config: VGGishConfig):
        super().__init__(config)
        layers: list[nn.Module] = []
        in_channels = 1
        for item in _CONV_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                in_channels = item
        self.features = nn.Sequential(*layers)
        flat = in_channels * (config.num_frames // 16) * (config.num_mel_bins // 16)
        self.embeddings = nn.Sequential(
            nn.Linear(flat, config.hidden_size),
            nn.ReLU(inplace=True),
            nn.Linear(config.hidden_size, config.hidden_size),
            nn.ReLU(inplace=True),
            nn.Linear(config.hidden_size, config.embedding_size),
            nn.ReLU(inplace=True),
        )
        if config.has_pca:
            size = config.embedding_size
            self.register_buffer("pca_eigen_vectors", torch.eye(size))
            self.register_buffer("pca_means", torch.zeros(size))
        self.post_init()

    def forward(
        self,
        input_features: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> VGGishModelOutput:
        r"""
        input_features (`torch.FloatTensor` of shape `(B, E, 1, num_frames, num_mel_bins)`):
            Log-mel examples of `B` segments, padded to `E` examples ([`VGGishFeatureExtractor`]).
        attention_mask (`torch.LongTensor` of shape `(B, E)`, *optional*):
            1 for real examples, 0 for padding (real examples come first); every segment needs at least one
            example. `None`: all real.
        """
        batch, num_examples = input_features.shape[:2]
        counts = [num_examples] * batch if attention_mask is None else attention_mask.sum(dim=1).tolist()
        # One call per segment: convolution results depend on the batch size in their last bits, so a
        # segment's feature is the same number whatever else is in the batch.
        per_segment = []
        for index, count in enumerate(counts):
            # Features (count, 512, num_frames / 16, num_mel_bins / 16) flattened as NHWC, as the TF original
            # does: the port's weights expect that order.
            x = self.features(input_features[index, :count]).permute(0, 2, 3, 1).contiguous()
            per_segment.append(self.embeddings(x.flatten(1)))
        last_hidden_state = per_segment[0].new_zeros(batch, num_examples, self.config.embedding_size)
        for index, embeddings in enumerate(per_segment):
            last_hidden_state[index, : embeddings.shape[0]] = embeddings
        pooled = torch.stack([embeddings.mean(dim=0) for embeddings in per_segment])
        return VGGishModelOutput(last_hidden_state=last_hidden_state, pooler_output=pooled)

    def postprocess(self, embeddings: torch.Tensor) -> torch.Tensor:
        """PCA-whiten, clip to [-2, 2] and quantise to 0..255 like the TF release: `(N, 128) -> (N, 128)`."""
        if not self.config.has_pca:
            raise ValueError("postprocess needs a checkpoint with PCA parameters (config.has_pca)")
        projected = (self.pca_eigen_vectors @ (embeddings.T - self.pca_means.reshape(-1, 1))).T
        return torch.round((projected.clamp(-2.0, 2.0) + 2.0) * (255.0 / 4.0))
