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


@dataclass(kw_only=True)
class ConvertWeightsArguments:
    """Which public extractor checkpoints to convert, where to, and where to push them
    (see :func:`emomv_hf.features.convert.convert_checkpoint`)."""

    output_dir: str = field(
        metadata={"help": "folder for the converted checkpoints: OUT/vggish, OUT/slowfast"}
    )
    vggish: str | None = field(
        default=None,
        metadata={"metavar": "PATH", "help": "vggish-10086976.pth (PyTorch VGGish port state dict)"},
    )
    vggish_pca: str | None = field(
        default=None,
        metadata={
            "metavar": "PATH",
            "help": "vggish_pca_params-970ea276.pth, kept for the PCA post-processing",
        },
    )
    slowfast: str | None = field(
        default=None, metadata={"metavar": "PATH", "help": "SLOWFAST_8x8_R50.pyth (pytorchvideo model zoo)"}
    )
    push_to_hub: str | None = field(
        default=None,
        metadata={
            "metavar": "ORG/NAME",
            "help": "upload the converted checkpoint to this Hub model repository (two checkpoints: "
            "ORG/NAME-vggish and ORG/NAME-slowfast)",
        },
    )
    private: bool = field(default=False, metadata={"help": "make the pushed repositories private"})

    def __post_init__(self) -> None:
        if self.vggish is None and self.slowfast is None:
            raise ValueError("nothing to convert: give --vggish PATH and/or --slowfast PATH")
        if self.vggish_pca is not None and self.vggish is None:
            raise ValueError("--vggish-pca needs --vggish")
        if self.push_to_hub is not None and self.push_to_hub.count("/") != 1:
            raise ValueError(f"--push-to-hub must be ORG/NAME, got {self.push_to_hub!r}")

    def repo_ids(self) -> dict[str, str]:
        """Model kind -> Hub repository of its converted checkpoint (empty without ``--push-to-hub``)."""
        kinds = [kind for kind in ("vggish", "slowfast") if getattr(self, kind) is not None]
        if self.push_to_hub is None:
            return {}
        if len(kinds) == 1:
            return {kinds[0]: self.push_to_hub}
        return {kind: f"{self.push_to_hub}-{kind}" for kind in kinds}
