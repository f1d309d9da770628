"""Slices of `TensorPairs` are the batches the evaluation loops read."""

from __future__ import annotations

import torch

from emomv_hf.data.tensors import TensorPairs


def test_a_slice_is_the_batch_of_those_rows_as_views():
    data = TensorPairs({"video_features": torch.arange(12.0).reshape(6, 2), "labels": torch.arange(6)})
    batch = data[2:5]
    assert torch.equal(batch["labels"], torch.tensor([2, 3, 4]))
    assert torch.equal(batch["video_features"], torch.tensor([[4.0, 5.0], [6.0, 7.0], [8.0, 9.0]]))
    assert batch["video_features"].data_ptr() == data.inputs["video_features"][2].data_ptr()  # no copy
    assert torch.equal(data[4:100]["labels"], torch.tensor([4, 5]))
    assert torch.equal(data[3]["labels"], torch.tensor(3))
