"""PyTorch SlowFast R50 (Feichtenhofer et al. 2019) as a transformers model: pytorchvideo's `slowfast_r50` with
the classifier projection removed, so that it returns the 2,304-d pooled features of the EmoMV release. The
state-dict keys are pytorchvideo's (`blocks.N.*`) without the classifier (`blocks.6.proj.*`), so the model zoo's
`SLOWFAST_8x8_R50.pyth` loads after dropping those two tensors.
"""

import warnings
from dataclasses import dataclass

import torch
from torch import nn
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_slowfast import SlowFastConfig
from .modeling_extractor import AlignedPreTrainedModel


@dataclass
class SlowFastModelOutput(ModelOutput):
    r"""
    Output of [`SlowFastModel`].

    Args:
        pooler_output (`torch.FloatTensor` of shape `(B, 2304)`):
            Spatio-temporally pooled slow (first 2,048) and fast (last 256) pathway features: the EmoMV video
            feature.
    """

    pooler_output: torch.FloatTensor | None = None


def _slowfast_blocks() -> nn.ModuleList:
    try:
        with warnings.catch_warnings():
            # pytorchvideo imports fvcore, whose focal losses call torch.jit.script at import time: seven
            # "`torch.jit.script` is deprecated" warnings about code this model never runs.
            warnings.filterwarnings("ignore", r"`torch\.jit\.script` is deprecated", FutureWarning)
            from pytorchvideo.models.hub import slowfast_r50
    except ImportError as error:
        raise ImportError("SlowFastModel needs pytorchvideo: pip install 'emomv-hf[extract]'") from error
    blocks = slowfast_r50(pretrained=False).blocks
    blocks[-1].proj = None  # ResNetBasicHead skips a missing projection: pooled features out
    return blocks


class SlowFastPreTrainedModel(AlignedPreTrainedModel):
    """Weight initialisation and loading for [`SlowFastModel`]."""

    config: SlowFastConfig
    base_model_prefix = "slowfast"
    main_input_name = "pixel_values_fast"
    input_modalities = ("video",)

    def _init_weights(self, module: nn.Module) -> None:
        """pytorchvideo's initialisation: convolutions Kaiming-normal (fan out) with zero bias, batch norms
        identity, linear layers N(0, 0.01)."""
        if isinstance(module, nn.Conv3d):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm3d):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=0.01)
            if module.bias is not None:
                init.zeros_(module.bias)


class SlowFastModel(SlowFastPreTrainedModel):
    """SlowFast R50: `(slow, fast)` clips to `(B, 2304)` pooled features."""

    def __init__(self, config: SlowFastConfig):
        super().__init__(config)
        self.blocks = _slowfast_blocks()
        self.post_init()

    def forward(
        self, pixel_values_slow: torch.Tensor, pixel_values_fast: torch.Tensor, **kwargs
    ) -> SlowFastModelOutput:
        r"""
        pixel_values_slow (`torch.FloatTensor` of shape `(B, 3, T / alpha, H, W)`):
            Slow-pathway frames (8 of 256x256 for the EmoMV features), normalised ([`SlowFastVideoProcessor`]).
        pixel_values_fast (`torch.FloatTensor` of shape `(B, 3, T, H, W)`):
            Fast-pathway frames (32 of 256x256).
        """
        hidden = [pixel_values_slow, pixel_values_fast]
        for block in self.blocks:
            hidden = block(hidden)
        return SlowFastModelOutput(pooler_output=hidden)
