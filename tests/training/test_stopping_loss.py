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


@pytest.mark.parametrize("protocol", ["held-out", "cv"])
def test_a_run_whose_every_stopping_loss_is_nan_says_so(emomv_c_dir, tmp_path, monkeypatch, protocol):
    """A diverged model (every early-stopping loss NaN) kept no best epoch: held-out evaluated its last weights
    without a word, and cv's refit asked for `--max-epochs 0` ("--max-epochs must be positive")."""
    from emomv_hf.training import EmoMVTrainingArguments, loop, run_training

    monkeypatch.setattr(loop, "stopping_loss", lambda *args, **kwargs: float("nan"))
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        output_dir=str(tmp_path / "out"),
        protocol=protocol,
        max_epochs=3,
        plots=False,
        progress=False,
    )
    with pytest.raises(ValueError, match=r"every early-stopping loss of the 3 epoch\(s\) was NaN"):
        run_training(args)
    assert not (tmp_path / "out" / "eval_results.json").exists()
