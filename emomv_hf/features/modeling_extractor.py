"""What the extractor models (`VGGishModel`, `SlowFastModel`) share."""

import torch
from transformers.modeling_utils import PreTrainedModel


class AlignedPreTrainedModel(PreTrainedModel):
    """A `PreTrainedModel` whose `from_pretrained` gives the features of the model that was saved, to the bit."""

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        """`PreTrainedModel.from_pretrained`, then every tensor copied out of the memory-mapped safetensors file:
        its offsets there are not 64-byte aligned, and MKL takes other code paths on unaligned weights, whose
        last bits differ; aligned copies give the same features as the model that was saved."""
        loaded = super().from_pretrained(*args, **kwargs)
        model = loaded[0] if kwargs.get("output_loading_info") else loaded  # (model, loading info) when asked
        with torch.no_grad():
            for tensor in (*model.parameters(), *model.buffers()):
                tensor.data = tensor.data.clone()
        return loaded
