"""Command-line arguments of feature extraction: :class:`ExtractorArguments` (the extractors, shared by every
entry point that extracts), and one dataclass per dataset script (see :func:`emomv_hf.cli.run_script`)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..cli import check_flags, flag

EXTRACTOR_KINDS = ("slowfast", "vggish")
"""The extractors of the two streams: SlowFast (video, built first) and VGGish (music)."""

RANDOM_INIT_SEED = 0
"""Seed of the random weights of ``--random-init`` extractors (the same in every process and run)."""


@dataclass(kw_only=True)
class ExtractorArguments:
    """The feature extractors and how media files are cut into segments: the flags of every entry point that
    extracts features from media (``extract_features.py``, ``create_dataset.py``, ``recommend.py``, the Space),
    and the ``extractor`` argument of :func:`~emomv_hf.features.extract.extract_dataset`."""

    extractor: str | None = flag(
        "folder of converted checkpoints (DIR/slowfast, DIR/vggish: dataset_scripts/convert_weights.py)",
        default=None,
        metavar="DIR",
    )
    slowfast_weights: str | None = flag(
        "converted SlowFast checkpoint folder; overrides --extractor", default=None, metavar="PATH"
    )
    vggish_weights: str | None = flag(
        "converted VGGish checkpoint folder; overrides --extractor", default=None, metavar="PATH"
    )
    random_init: bool = flag(
        "allow random weights where none are given (testing only: the features mean nothing)", default=False
    )
    segment_seconds: float = flag(
        "length of the segments a media file is cut into (a query: use the library's)", default=30.0
    )
    device: str | None = flag(
        "torch device of the extractors (default: this process's device under accelerate/torchrun)",
        default=None,
    )

    def __post_init__(self) -> None:
        check_flags(
            {
                # None: a query's length, the library's (recommendation.arguments.QueryExtractorArguments)
                "segment_seconds": (
                    self.segment_seconds is None or 0 < self.segment_seconds < math.inf,
                    "positive",
                ),
                "device": (
                    self.device is None or bool(self.device.strip()),
                    "a torch device (cpu, cuda, ...)",
                ),
            },
            self,
        )

    def weights(self) -> dict[str, str | None]:
        """Extractor kind -> its checkpoint folder (the explicit flag, else ``--extractor``'s subfolder), ``None``
        for random weights; every folder is checked before any model is built (building SlowFast takes seconds).

        Raises:
            FileNotFoundError: a folder without a converted checkpoint, or an extractor without weights and
                random weights not asked for (the message names the flags).
        """
        weights = {"slowfast": self.slowfast_weights, "vggish": self.vggish_weights}
        if self.extractor is not None:
            root = Path(self.extractor)
            if not root.is_dir():
                raise FileNotFoundError(f"--extractor {root}: not a folder (make it with convert_weights.py)")
            for kind in EXTRACTOR_KINDS:
                if weights[kind] is None and not (root / kind / "config.json").is_file():
                    raise FileNotFoundError(
                        f"{root / kind}: no converted checkpoint (config.json); convert one with "
                        f"dataset_scripts/convert_weights.py or pass --{kind}-weights"
                    )
                weights[kind] = weights[kind] or str(root / kind)
        for kind in EXTRACTOR_KINDS:
            if weights[kind] is None and not self.random_init:
                from .convert import SOURCES

                model = {"slowfast": "SlowFast", "vggish": "VGGish"}[kind]
                raise FileNotFoundError(
                    f"{model} needs pretrained weights: pass --extractor DIR (converted checkpoints: "
                    f"dataset_scripts/convert_weights.py) or --{kind}-weights PATH (a converted {model} "
                    f"checkpoint folder; convert {SOURCES[kind][0]} with dataset_scripts/convert_weights.py), "
                    "or --random-init to test with random weights (the features mean nothing)"
                )
        for folder in filter(None, weights.values()):
            if not (Path(folder) / "config.json").is_file():
                raise FileNotFoundError(
                    f"{folder}: not a converted extractor checkpoint (no config.json); convert the public "
                    "checkpoint with dataset_scripts/convert_weights.py"
                )
        return weights

    def fingerprints(self) -> dict[str, dict]:
        """Extractor kind -> what its features depend on, recorded with every extracted shard and named on the
        extraction card, computed without building a model: ``source`` (the checkpoint folder, or
        ``"random-init"``), ``sha256`` (of the folder's config, weights and processor files, its card left out;
        of the seed and torch version that make random weights) and ``random_weights`` (also true for a folder
        written by ``convert_weights.py --random-init``). Raises as :meth:`weights`.
        """
        import torch

        from ..io_utils import files_sha256

        fingerprints = {}
        for kind, folder in self.weights().items():
            if folder is None:
                recipe = f"{kind} random-init seed {RANDOM_INIT_SEED} torch {torch.__version__}"
                fingerprints[kind] = {
                    "source": "random-init",
                    "sha256": hashlib.sha256(recipe.encode()).hexdigest(),
                    "random_weights": True,
                }
                continue
            folder = Path(folder)
            files = sorted(
                p for p in folder.iterdir() if p.is_file() and p.name != "README.md" and p.name[0] != "."
            )
            try:
                config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ValueError(f"{folder / 'config.json'}: not a JSON model configuration") from None
            fingerprints[kind] = {
                "source": str(folder),
                "sha256": files_sha256((p.name, p) for p in files),
                "random_weights": bool(isinstance(config, dict) and config.get("random_weights")),
            }
        return fingerprints

    def load(self, device: str) -> dict:
        """Extractor kind -> ``(processor, model)`` on ``device`` (:func:`~emomv_hf.features.convert.load_extractor`)."""
        from .convert import load_extractor

        loaded = {}
        for kind, weights in self.weights().items():
            processor, model = load_extractor(Path(weights) if weights else kind)  # a folder named vggish too
            if model.config.model_type != kind:
                raise ValueError(f"--{kind}-weights {weights}: a {model.config.model_type} checkpoint")
            loaded[kind] = (processor, model.to(device))
        return loaded


@dataclass(kw_only=True)
class FeatureExtractionArguments:
    """What to extract features from, where to, and how (see :func:`extract_dataset`); the extractors are
    :class:`ExtractorArguments`, parsed beside it."""

    media: str = flag(
        "folder of media files (emotion-named subfolders label them), CSV with a 'path' column, or a "
        "Hub dataset (folder or ORG/NAME) with a Video column"
    )
    output_dir: str = flag("the Hub dataset folder to write (Parquet shards + card)")
    skip_errors: bool = flag(
        "leave unreadable files and failing segments out (listed in OUT/failures.csv) and go on",
        default=False,
    )
    files_per_shard: int = flag(
        "media files per Parquet shard (the unit of resuming and of splitting)", default=16
    )
    num_workers: int = flag("DataLoader workers that decode media", default=0)
    batch_size: int = flag("SlowFast clips per model call", default=1)
    dataset_split: str = flag("split of a Hub dataset --media to read", default="train")
    progress: bool = flag("show a progress bar over the media files", default=True)

    def __post_init__(self) -> None:
        check_flags(
            {
                "files_per_shard": (self.files_per_shard >= 1, ">= 1"),
                "batch_size": (self.batch_size >= 1, ">= 1"),
                "num_workers": (self.num_workers >= 0, ">= 0"),
            },
            self,
        )

    def extraction_options(self, extractor: ExtractorArguments) -> dict:
        """Keyword arguments of :func:`~emomv_hf.features.extract.extract_dataset` (after ``media``, ``output_dir``)."""
        return {
            "extractor": extractor,
            "on_error": "skip" if self.skip_errors else "raise",
            "progress": self.progress,
            "files_per_shard": self.files_per_shard,
            "num_workers": self.num_workers,
            "batch_size": self.batch_size,
            "dataset_split": self.dataset_split,
        }


@dataclass(kw_only=True)
class ConvertWeightsArguments:
    """Which public extractor checkpoints to convert, where to, and where to push them
    (see :func:`emomv_hf.features.convert.convert_checkpoint`)."""

    output_dir: str = flag("folder for the converted checkpoints: OUT/vggish, OUT/slowfast")
    vggish: str | None = flag(
        "vggish-10086976.pth (PyTorch VGGish port state dict)", default=None, metavar="PATH"
    )
    vggish_pca: str | None = flag(
        "vggish_pca_params-970ea276.pth, kept for the PCA post-processing", default=None, metavar="PATH"
    )
    slowfast: str | None = flag(
        "SLOWFAST_8x8_R50.pyth (pytorchvideo model zoo)", default=None, metavar="PATH"
    )
    push_to_hub: str | None = flag(
        "upload the converted checkpoint to this Hub model repository (two checkpoints: "
        "ORG/NAME-vggish and ORG/NAME-slowfast)",
        default=None,
        metavar="ORG/NAME",
    )
    private: bool = flag("make the pushed repositories private", default=False)
    random_init: bool = flag(
        "write both extractor folders with RANDOM weights instead (offline tests of the pipeline: "
        "the features mean nothing, and the cards say so)",
        default=False,
    )

    def __post_init__(self) -> None:
        if self.random_init and (self.vggish or self.slowfast or self.vggish_pca):
            raise ValueError("--random-init writes random weights: give it without --vggish, --slowfast")
        if self.vggish is None and self.slowfast is None and not self.random_init:
            raise ValueError(
                "nothing to convert: give --vggish PATH and/or --slowfast PATH (or --random-init)"
            )
        if self.vggish_pca is not None and self.vggish is None:
            raise ValueError("--vggish-pca needs --vggish")
        if self.push_to_hub is not None and self.push_to_hub.count("/") != 1:
            raise ValueError(f"--push-to-hub must be ORG/NAME, got {self.push_to_hub!r}")

    def repo_ids(self) -> dict[str, str]:
        """Model kind -> Hub repository of its converted checkpoint (empty without ``--push-to-hub``)."""
        kinds = [
            kind for kind in ("vggish", "slowfast") if getattr(self, kind) is not None or self.random_init
        ]
        if self.push_to_hub is None:
            return {}
        return {kind: self.push_to_hub if len(kinds) == 1 else f"{self.push_to_hub}-{kind}" for kind in kinds}


@dataclass(kw_only=True)
class CreateDatasetArguments(FeatureExtractionArguments):
    """``create_dataset.py``: the flags of ``extract_features.py`` (used when ``--media`` is raw media), the tagger,
    the filters and the output (see :func:`emomv_hf.data.create.create_dataset`)."""

    media: str = flag(
        "an EmoMV dataset folder or extract_features.py output (already extracted segments: read), "
        "else raw media as extract_features.py takes it (folder, CSV with a 'path' column, Hub dataset)"
    )
    output_dir: str = flag("the dataset folder to write (configs pairs and segments, card)")
    tagger: str = flag(
        "emotion tagger: a folder written by train.py --task tagging, or a Hub id", metavar="M"
    )
    max_segments_per_source: int = flag(
        "keep at most this many tagged segments of one source video (0: no cap)", default=2
    )
    validation_fraction: float = flag(
        "share of the kept segments in validation (split grouped by source)", default=0.2
    )
    seed: int = flag("seed of the per-source cap, the split and the pairing", default=0)
    work_dir: str | None = flag(
        "where extracted features and tags are kept for reruns (default: OUTPUT_DIR.work)", default=None
    )
    tagging_batch_size: int = flag("segments per tagger call", default=256)
    allow_degenerate: bool = flag(
        "write splits without matched or mismatched pairs (with a warning) instead of refusing", default=False
    )
    overwrite: bool = flag("replace an output folder that holds files a build does not write", default=False)
    push_to_hub: str | None = flag(
        "upload the dataset folder to this Hub repository", default=None, metavar="ORG/NAME"
    )
    private: bool = flag("create a private Hub repository", default=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_flags(
            {
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
            },
            self,
        )
