"""SlowFast R50 configuration (the 2,304-d video features of the EmoMV release)."""

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig


@strict
class SlowFastConfig(PreTrainedConfig):
    r"""
    Configuration of [`SlowFastModel`]: pytorchvideo's `slowfast_r50` (Kinetics-400, `SLOWFAST_8x8_R50.pyth`)
    with the classifier projection removed, so that the output is the pooled slow (2,048) and fast (256)
    pathway features, concatenated.

    Args:
        slow_channels (`int`, defaults to 2048):
            Channels of the slow pathway's last stage.
        fast_channels (`int`, defaults to 256):
            Channels of the fast pathway's last stage (`slow_channels / 8`: pytorchvideo's channel ratio).
        slowfast_alpha (`int`, defaults to 4):
            Frame-rate ratio of the fast to the slow pathway (the fast pathway sees `alpha` times more frames).
        num_frames (`int`, defaults to 32):
            Frames of the fast pathway input (the slow pathway takes `num_frames // slowfast_alpha`).
        crop_size (`int`, defaults to 256):
            Side of the square input frames.
    """

    model_type = "slowfast"

    slow_channels: int = 2048
    fast_channels: int = 256
    slowfast_alpha: int = 4
    num_frames: int = 32
    crop_size: int = 256

    @property
    def hidden_size(self) -> int:
        """Width of the pooled output: slow + fast channels (2,304)."""
        return self.slow_channels + self.fast_channels

    def validate_architecture(self):
        """Part of `@strict` validation: only pytorchvideo's R50 layout (2,048 + 256 channels) is built."""
        if (self.slow_channels, self.fast_channels) != (2048, 256):
            raise ValueError(
                "SlowFastModel builds pytorchvideo's slowfast_r50: `slow_channels` must be 2048 and "
                f"`fast_channels` 256, got {self.slow_channels} and {self.fast_channels}."
            )
        if self.slowfast_alpha < 1 or self.num_frames < self.slowfast_alpha:
            raise ValueError(
                f"need 1 <= `slowfast_alpha` <= `num_frames`, got {self.slowfast_alpha} and {self.num_frames}."
            )
        if self.crop_size < 32:
            raise ValueError(f"`crop_size` must be at least 32, got {self.crop_size}.")


__all__ = ["SlowFastConfig"]
