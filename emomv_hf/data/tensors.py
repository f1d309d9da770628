"""Splits of a Hub dataset the package wrote, held as tensors of model inputs.

The EmoMV sets are tiny (hundreds of pairs), so every split lives as a handful of tensors on the device and
batches are index slices, with no per-sample Python work. The Hub schema already fixes the columns' widths,
dtypes and class ranges, so these tensors are not checked again: raw user input goes through the model's
`prepare_inputs` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

PAIR_COLUMN_TO_ARGUMENT: dict[str, str] = {
    "video_features": "video_features",
    "music_features": "music_features",
    "label": "labels",
    "video_emotion": "video_emotion_labels",
    "music_emotion": "music_emotion_labels",
}
"""Column of a `pairs` split → model `forward` argument; the other columns (identifiers) are left out."""

SEGMENT_COLUMN_TO_ARGUMENT: dict[str, str] = {
    "video_features": "video_features",
    "music_features": "music_features",
    "emotion": "emotion",
}
"""Columns of a `segments` split (the retrieval set) kept as tensors; `emotion` labels both streams."""

TAGGING_COLUMN_TO_ARGUMENT: dict[str, str] = {**SEGMENT_COLUMN_TO_ARGUMENT, "emotion": "labels"}
"""A `segments` split as an emotion tagger's inputs: the segment's emotion is its label."""


class TensorPairs(Dataset):
    """Model inputs of a split as stacked tensors; indexing with a list of indices returns a batch dict.

    Args:
        inputs: ``{"video_features": (N, 2304), "music_features": (N, 128), "labels": (N,), ...}``.
    """

    def __init__(self, inputs: dict[str, torch.Tensor]):
        self.inputs = inputs  # columns of one split the package wrote: equal lengths, not checked again

    @classmethod
    def from_dataset(
        cls,
        dataset,
        device: torch.device | str = "cpu",
        column_to_argument: Mapping[str, str] = PAIR_COLUMN_TO_ARGUMENT,
    ) -> TensorPairs:
        """Stack a ``datasets.Dataset`` split: features as float32 `(N, width)`, labels as int64 `(N,)`."""
        columns = [column for column in column_to_argument if column in dataset.column_names]
        arrays = dataset.with_format("numpy", columns=columns)[:]
        return cls(
            {
                column_to_argument[column]: torch.from_numpy(np.asarray(arrays[column])).to(
                    device, torch.float32 if column.endswith("_features") else torch.long
                )
                for column in columns
            }
        )

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def __getitem__(self, index: int | slice) -> dict[str, torch.Tensor]:
        """One row, or rows ``start:stop`` as a batch dict (views, no copy)."""
        return {name: tensor[index] for name, tensor in self.inputs.items()}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        # torch's fetcher calls this with a whole batch of indices: one gather per tensor.
        index = torch.as_tensor(indices, device=next(iter(self.inputs.values())).device)
        return {name: tensor.index_select(0, index) for name, tensor in self.inputs.items()}

    def select(self, indices: Sequence[int] | np.ndarray) -> TensorPairs:
        index = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return TensorPairs({name: tensor[index.to(tensor.device)] for name, tensor in self.inputs.items()})


def tensor_loader(data: TensorPairs, batch_size: int, *, shuffle: bool) -> DataLoader:
    """A DataLoader whose batches are tensor slices of ``data`` (see :class:`TensorPairs`).

    Shuffled batches are reproducible once the loader goes through an `Accelerator` with a seedable sampler
    (`DataLoaderConfiguration(use_seedable_sampler=True, data_seed=...)`): each epoch's order then depends on
    the data seed and `set_epoch` alone.
    """
    # __getitems__ already returns the batch: collating only copies its dict (a builtin, so workers can pickle it).
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, collate_fn=dict)
