"""Command-line arguments of ``dataset_scripts/extract_features.py``: one dataclass, parsed by
``transformers.HfArgumentParser`` (see :func:`emomv_hf.cli.run_script`).

Each field is a flag (``--segment-seconds`` or ``--segment_seconds``); a value it rejects is a usage error
naming its flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

WEIGHT_FLAGS = {"SlowFast": "--slowfast-weights", "VGGish": "--vggish-weights"}
"""The flag that gives each extractor's weights, for :meth:`MissingWeightsError.for_command_line`."""


@dataclass(kw_only=True)
class FeatureExtractionArguments:
    """What to extract features from, where to, and with which weights (see :func:`extract_dataset`)."""

    media: str = field(
        metadata={
            "help": "folder of media files (emotion-named subfolders label them), CSV with a 'path' column, or a "
            "Hub dataset (folder or ORG/NAME) with a Video column"
        }
    )
    output_dir: str = field(metadata={"help": "the Hub dataset folder to write (Parquet shards + card)"})
    extractor: str | None = field(
        default=None,
        metadata={
            "metavar": "DIR",
            "help": "folder of converted checkpoints (DIR/slowfast, DIR/vggish: dataset_scripts/convert_weights.py)",
        },
    )
    slowfast_weights: str | None = field(
        default=None,
        metadata={
            "metavar": "PATH",
            "help": "SlowFast checkpoint folder, or SLOWFAST_8x8_R50.pyth (pytorchvideo model zoo); "
            "overrides --extractor",
        },
    )
    vggish_weights: str | None = field(
        default=None,
        metadata={
            "metavar": "PATH",
            "help": "VGGish checkpoint folder, or vggish-10086976.pth (PyTorch VGGish port); overrides --extractor",
        },
    )
    random_init: bool = field(
        default=False,
        metadata={
            "help": "allow random weights where none are given (testing only: the features mean nothing)"
        },
    )
    segment_seconds: float = field(
        default=30.0, metadata={"help": "length of the segments a media file is cut into"}
    )
    device: str | None = field(
        default=None,
        metadata={
            "help": "torch device of the models (default: this process's device under accelerate/torchrun)"
        },
    )
    skip_errors: bool = field(
        default=False,
        metadata={
            "help": "leave unreadable files and failing segments out (listed in OUT/failures.csv) and go on"
        },
    )
    files_per_shard: int = field(
        default=16, metadata={"help": "media files per Parquet shard (the unit of resuming and of splitting)"}
    )
    num_workers: int = field(default=0, metadata={"help": "DataLoader workers that decode media"})
    batch_size: int = field(default=1, metadata={"help": "SlowFast clips per model call"})
    dataset_split: str = field(default="train", metadata={"help": "split of a Hub dataset --media to read"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar over the media files"})

    def __post_init__(self) -> None:
        if not (math.isfinite(self.segment_seconds) and self.segment_seconds > 0):
            raise ValueError(f"--segment-seconds must be positive, got {self.segment_seconds!r}")
        if self.device is not None and not self.device.strip():
            raise ValueError(f"--device must be a torch device (cpu, cuda, ...), got {self.device!r}")
        for name in ("files_per_shard", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.num_workers < 0:
            raise ValueError(f"--num-workers must be >= 0, got {self.num_workers}")

    @property
    def on_error(self) -> str:
        """``extract_dataset``'s ``on_error``: ``skip`` with ``--skip-errors``, else ``raise``."""
        return "skip" if self.skip_errors else "raise"

    def weights(self) -> tuple[str | None, str | None]:
        """``(slowfast, vggish)``: the explicit flags, else ``--extractor``'s subfolders."""
        return extractor_weights(self.extractor, self.slowfast_weights, self.vggish_weights)


def extractor_weights(
    extractor: str | None, slowfast: str | None, vggish: str | None
) -> tuple[str | None, str | None]:
    """``(slowfast, vggish)`` weights of the ``--extractor DIR`` / ``--slowfast-weights`` / ``--vggish-weights``
    flags: the explicit ones, else the converted checkpoints ``DIR/slowfast`` and ``DIR/vggish``."""
    if extractor is not None:
        root = Path(extractor)
        if not root.is_dir():
            raise FileNotFoundError(f"--extractor {root}: not a folder (make it with convert_weights.py)")
        slowfast = slowfast or _checkpoint(root / "slowfast", "--slowfast-weights")
        vggish = vggish or _checkpoint(root / "vggish", "--vggish-weights")
    return slowfast, vggish


def _checkpoint(folder: Path, flag: str) -> str:
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder}: no converted checkpoint (config.json); convert one with "
            f"dataset_scripts/convert_weights.py or pass {flag}"
        )
    return str(folder)


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


@dataclass(kw_only=True)
class CreateDatasetArguments(FeatureExtractionArguments):
    """``create_dataset.py``: the flags of ``extract_features.py`` (used when ``--media`` is raw media), the tagger,
    the filters and the output (see :func:`emomv_hf.data.create.create_dataset`)."""

    media: str = field(
        metadata={
            "help": "an EmoMV dataset folder or extract_features.py output (already extracted segments: read), "
            "else raw media as extract_features.py takes it (folder, CSV with a 'path' column, Hub dataset)"
        }
    )
    output_dir: str = field(
        metadata={"help": "the dataset folder to write (configs pairs and segments, card)"}
    )
    tagger: str = field(
        metadata={
            "metavar": "M",
            "help": "emotion tagger: a folder written by train.py --task tagging, or a Hub id",
        }
    )
    max_segments_per_source: int = field(
        default=2, metadata={"help": "keep at most this many tagged segments of one source video (0: no cap)"}
    )
    validation_fraction: float = field(
        default=0.2, metadata={"help": "share of the kept segments in validation (split grouped by source)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the per-source cap, the split and the pairing"})
    work_dir: str | None = field(
        default=None,
        metadata={"help": "where extracted features and tags are kept for reruns (default: OUTPUT_DIR.work)"},
    )
    tagging_batch_size: int = field(default=256, metadata={"help": "segments per tagger call"})
    allow_degenerate: bool = field(
        default=False,
        metadata={
            "help": "write splits without matched or mismatched pairs (with a warning) instead of refusing"
        },
    )
    overwrite: bool = field(
        default=False, metadata={"help": "replace an output folder that holds files a build does not write"}
    )
    push_to_hub: str | None = field(
        default=None,
        metadata={"metavar": "ORG/NAME", "help": "upload the dataset folder to this Hub repository"},
    )
    private: bool = field(default=False, metadata={"help": "create a private Hub repository"})

    def __post_init__(self) -> None:
        super().__post_init__()
        checks = {
            "max_segments_per_source": (
                self.max_segments_per_source >= 0,
                "a non-negative integer (0: no cap)",
            ),
            "validation_fraction": (0.0 < self.validation_fraction < 1.0, "in (0, 1)"),
            "tagging_batch_size": (self.tagging_batch_size >= 1, ">= 1"),
            "push_to_hub": (
                self.push_to_hub is None
                or self.push_to_hub.count("/") == 1
                and all(self.push_to_hub.split("/")),
                "a Hub repository id ORG/NAME",
            ),
        }
        for name, (ok, expected) in checks.items():
            if not ok:
                raise ValueError(
                    f"--{name.replace('_', '-')} must be {expected}, got {getattr(self, name)!r}"
                )

    def extraction_options(self) -> dict:
        """Keyword arguments of :func:`emomv_hf.features.extract_dataset` for raw ``--media``."""
        slowfast, vggish = self.weights()
        return {
            "slowfast_weights": slowfast,
            "vggish_weights": vggish,
            "random_init": self.random_init,
            "segment_seconds": self.segment_seconds,
            "device": self.device,
            "on_error": self.on_error,
            "progress": self.progress,
            "files_per_shard": self.files_per_shard,
            "num_workers": self.num_workers,
            "batch_size": self.batch_size,
            "dataset_split": self.dataset_split,
        }
