"""Feed EmoMV Hub-dataset batches to the EmoMV models.

The Hub dataset has the columns `pair_id, video_segment_id, music_segment_id, label, video_emotion,
music_emotion, video_features, music_features`. The models' `forward` takes `video_features, music_features,
labels, video_emotion_labels, music_emotion_labels`. [`COLUMN_TO_ARGUMENT`] is that mapping; the other columns
(identifiers) are ignored.

Example:

```python
>>> from torch.utils.data import DataLoader
>>> from emomv_hf.data.collator import EmoMVCollator, to_model_inputs

>>> outputs = model(**to_model_inputs(dataset[:32]))  # a column-major slice (any format)
>>> loader = DataLoader(dataset, batch_size=256, shuffle=True, collate_fn=EmoMVCollator())  # rows
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

COLUMN_TO_ARGUMENT: dict[str, str] = {
    "video_features": "video_features",
    "music_features": "music_features",
    "label": "labels",
    "video_emotion": "video_emotion_labels",
    "music_emotion": "music_emotion_labels",
}
"""Dataset column → model `forward` argument."""

FEATURE_COLUMNS = ("video_features", "music_features")
"""Columns converted to float32 `(B, width)` tensors; the others become int64 `(B,)` tensors."""


def _to_tensor(values: Any, column: str, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        tensor = values
    elif isinstance(values, np.ndarray):
        tensor = torch.from_numpy(values)
    elif isinstance(values, Sequence) and len(values) > 0 and isinstance(values[0], torch.Tensor):
        tensor = torch.stack(list(values))
    elif isinstance(values, Sequence) and len(values) > 0 and isinstance(values[0], np.ndarray):
        tensor = torch.from_numpy(np.stack(values))
    else:
        try:
            tensor = torch.as_tensor(np.asarray(values))
        except (TypeError, ValueError) as error:
            raise ValueError(f"column `{column}` cannot be converted to a tensor: {error}") from None
    if dtype == torch.long and tensor.is_floating_point() and not torch.equal(tensor, tensor.round()):
        raise ValueError(f"column `{column}` must hold integer class indices, got non-integer values.")
    return tensor.to(dtype)


def to_model_inputs(
    columns: Mapping[str, Any], column_to_argument: Mapping[str, str] = COLUMN_TO_ARGUMENT
) -> dict[str, torch.Tensor]:
    """
    Column-major batch → keyword arguments of an EmoMV model's `forward`.

    Args:
        columns: mapping of column name to a batch of values, e.g. `dataset[:]`, `dataset[i:j]` in any format
            (python lists, numpy, `with_format("torch")`), or a dict of arrays. Columns not in `column_to_argument`
            are ignored; `label` / `video_emotion` / `music_emotion` are optional (inference batches).
        column_to_argument: the column → argument mapping (default [`COLUMN_TO_ARGUMENT`]).

    Returns:
        `dict[str, torch.Tensor]`: `video_features` / `music_features` as float32 `(B, width)`, labels as int64 `(B,)`.
    """
    missing = [column for column in FEATURE_COLUMNS if column not in columns]
    if missing:
        raise KeyError(f"batch has no column {', '.join(map(repr, missing))}; columns: {sorted(columns)}")
    inputs: dict[str, torch.Tensor] = {}
    for column, argument in column_to_argument.items():
        if column not in columns:
            continue
        dtype = torch.float32 if column in FEATURE_COLUMNS else torch.long
        tensor = _to_tensor(columns[column], column, dtype)
        expected_ndim = 2 if column in FEATURE_COLUMNS else 1
        if tensor.ndim != expected_ndim:
            raise ValueError(
                f"column `{column}` must give a {expected_ndim}-d batch, got shape {tuple(tensor.shape)} "
                "(pass a column-major batch such as `dataset[i:j]`, or use `EmoMVCollator` for a list of rows)."
            )
        inputs[argument] = tensor
    return inputs


@dataclass
class EmoMVCollator:
    """
    `collate_fn` for a `DataLoader` over an EmoMV dataset: a list of row dicts → `forward` keyword arguments
    (see [`to_model_inputs`]).
    """

    column_to_argument: Mapping[str, str] = field(default_factory=lambda: dict(COLUMN_TO_ARGUMENT))

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if len(rows) == 0:
            raise ValueError("cannot collate an empty list of rows")
        columns = {
            column: [row[column] for row in rows] for column in rows[0] if column in self.column_to_argument
        }
        return to_model_inputs(columns, self.column_to_argument)


__all__ = ["COLUMN_TO_ARGUMENT", "EmoMVCollator", "to_model_inputs"]
