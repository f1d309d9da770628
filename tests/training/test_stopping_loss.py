"""What early stopping watches, on the real EmoMV-C features: every row counted once, whatever the batch size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from emomv_hf.data.loading import load_emomv
from emomv_hf.data.tensors import TensorPairs
from emomv_hf.models_registry import build_model
from emomv_hf.training.loop import stopping_loss


@pytest.mark.parametrize("batch_size", [7, 96, 4096])
def test_stopping_loss_is_the_mean_over_every_row(emomv_c_dir, batch_size):
    """96 validation pairs in batches of 7 (a last batch of 5), one batch, or fewer rows than a batch: the same
    mean, and the mean an independent computation over all rows gives (cross-entropy of the match logits)."""
    data = TensorPairs.from_dataset(load_emomv(str(emomv_c_dir))["validation"])
    torch.manual_seed(0)
    model = build_model("emomv", "correspondence", multi_task=False)
    model.fit_standardization(data.inputs["video_features"], data.inputs["music_features"])
    model.eval()
    with torch.no_grad():
        logits = model(
            video_features=data.inputs["video_features"], music_features=data.inputs["music_features"]
        )
        expected = F.cross_entropy(logits.logits, data.inputs["labels"]).item()
        assert stopping_loss(model, data, "match", batch_size=batch_size) == pytest.approx(expected, rel=1e-5)
