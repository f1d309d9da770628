"""SlowFast R50 configuration (the 2,304-d video features of the EmoMV release)."""

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig


@strict
class SlowFastConfig(PreTrainedConfig):
    r"""
    Configuration of [`SlowFastModel`]: pytorchvideo's `slowfast_r50` (Kinetics-400, `SLOWFAST_8x8_R50.pyth`)
    with the classifier projection removed, so that the output is the pooled slow (2,048) and fast (256)
    pathway features, concatenated. Frame sampling, resizing and the pathways' frame counts are the
    processor's ([`SlowFastVideoProcessor`]).

    Args:
        slow_channels (`int`, defaults to 2048):
            Channels of the slow pathway's last stage.
        fast_channels (`int`, defaults to 256):
            Channels of the fast pathway's last stage (`slow_channels / 8`: pytorchvideo's channel ratio).
        random_weights (`bool`, defaults to `False`):
            Whether the weights are random (`convert_weights.py --random-init`, to try the pipeline offline): the
            features mean nothing, and extraction cards say so.
    """

    model_type = "slowfast"

    slow_channels: int = 2048
    fast_channels: int = 256
    random_weights: bool = False

    def validate_architecture(self):
        """Part of `@strict` validation: only pytorchvideo's R50 layout (2,048 + 256 channels) is built."""
        if (self.slow_channels, self.fast_channels) != (2048, 256):
            raise ValueError(
                "SlowFastModel builds pytorchvideo's slowfast_r50: `slow_channels` must be 2048 and "
                f"`fast_channels` 256, got {self.slow_channels} and {self.fast_channels}."
            )
