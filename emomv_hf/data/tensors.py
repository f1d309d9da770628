"""Splits held as tensors: the EmoMV sets are tiny (hundreds of pairs), so every split lives as a handful of
tensors on the device and batches are index slices, with no per-sample Python work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from emomv_hf.data.collator import to_model_inputs


class TensorPairs(Dataset):
    """Model inputs of a split as stacked tensors; indexing with a list of indices returns a batch dict.

    Args:
        inputs: ``{"video_features": (N, 2304), "music_features": (N, 128), "labels": (N,), ...}``.
    """

    def __init__(self, inputs: dict[str, torch.Tensor]):
        lengths = {name: len(tensor) for name, tensor in inputs.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"all inputs must have the same number of rows, got {lengths}")
        self.inputs = inputs

    @classmethod
    def from_dataset(cls, dataset, device: torch.device | str = "cpu") -> TensorPairs:
        """Stack a ``datasets.Dataset`` split (Hub pair schema) into tensors on ``device``."""
        columns = to_model_inputs(dataset.with_format("numpy")[:])
        return cls({name: tensor.to(device) for name, tensor in columns.items()})

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {name: tensor[index] for name, tensor in self.inputs.items()}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        # torch's fetcher calls this with a whole batch of indices: one gather per tensor.
        index = torch.as_tensor(indices, device=next(iter(self.inputs.values())).device)
        return {name: tensor.index_select(0, index) for name, tensor in self.inputs.items()}

    def rows(self, start: int, stop: int) -> dict[str, torch.Tensor]:
        """Rows ``start:stop`` as a batch dict (views, no copy)."""
        return {name: tensor[start:stop] for name, tensor in self.inputs.items()}

    def select(self, indices: Sequence[int] | np.ndarray) -> TensorPairs:
        index = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return TensorPairs({name: tensor[index.to(tensor.device)] for name, tensor in self.inputs.items()})


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of indices, reshuffled per epoch from ``(seed, epoch)`` alone.

    The order of epoch ``e`` does not depend on any global random state, so a run resumed from a checkpoint
    sees exactly the batches the uninterrupted run saw.
    """

    def __init__(self, num_rows: int, batch_size: int, *, shuffle: bool, seed: int = 0):
        self.num_rows = num_rows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.drop_last = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.num_rows, generator=generator).tolist()
        else:
            order = list(range(self.num_rows))
        for start in range(0, self.num_rows, self.batch_size):
            yield order[start : start + self.batch_size]

    def __len__(self) -> int:
        return (self.num_rows + self.batch_size - 1) // self.batch_size


def _return_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return batch


def tensor_loader(data: TensorPairs, batch_size: int, *, shuffle: bool, seed: int = 0) -> DataLoader:
    """A DataLoader whose batches are tensor slices of ``data`` (see :class:`TensorPairs`)."""
    sampler = EpochBatchSampler(len(data), batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(data, batch_sampler=sampler, collate_fn=_return_batch)
