"""Command-line arguments of ``dataset_scripts/extract_features.py``: one dataclass, parsed by
``transformers.HfArgumentParser`` (see :func:`emomv_hf.cli.run_script`).

Each field is a flag (``--segment-seconds`` or ``--segment_seconds``); a value it rejects is a usage error
naming its flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WEIGHT_FLAGS = {"SlowFast": "--slowfast-weights", "VGGish": "--vggish-weights"}
"""The flag that gives each extractor's weights, for :meth:`MissingWeightsError.for_command_line`."""


@dataclass(kw_only=True)
class FeatureExtractionArguments:
    """What to extract features from, where to, and with which weights (see :func:`extract_folder`)."""

    media: str = field(metadata={"help": "folder of media files, or CSV with a 'path' column"})
    output_dir: str = field(metadata={"help": "folder for video/, music/ and segments.csv"})
    slowfast_weights: str | None = field(
        default=None,
        metadata={"metavar": "PATH", "help": "SLOWFAST_8x8_R50.pyth (pytorchvideo model zoo) or state dict"},
    )
    vggish_weights: str | None = field(
        default=None,
        metadata={"metavar": "PATH", "help": "vggish-10086976.pth (PyTorch VGGish port) state dict"},
    )
    random_init: bool = field(
        default=False,
        metadata={
            "help": "allow random weights where none are given (testing only: the features mean nothing)"
        },
    )
    segment_seconds: float = field(
        default=30.0, metadata={"help": "length of the segments a video of a media folder is cut into"}
    )
    device: str = field(default="cpu", metadata={"help": "torch device of the extractors (cpu, cuda, ...)"})
    skip_errors: bool = field(
        default=False,
        metadata={
            "help": "leave unreadable files and failing segments out (listed in OUT/failures.csv) and go on"
        },
    )
    progress: bool = field(default=True, metadata={"help": "show a progress bar over the segments"})

    def __post_init__(self) -> None:
        if not (math.isfinite(self.segment_seconds) and self.segment_seconds > 0):
            raise ValueError(f"--segment-seconds must be positive, got {self.segment_seconds!r}")
        if not self.device.strip():
            raise ValueError(f"--device must be a torch device (cpu, cuda, ...), got {self.device!r}")

    @property
    def on_error(self) -> str:
        """``extract_folder``'s ``on_error``: ``skip`` with ``--skip-errors``, else ``raise``."""
        return "skip" if self.skip_errors else "raise"
