"""The dataset cards of the folders this package writes, from their tables: YAML (:func:`card_data`) so that
``load_dataset`` finds the data, and a body filled from ``templates/*_dataset_card.md`` with huggingface_hub's
``DatasetCard.from_template`` (the mismatch emotion-pair matrices are the paper's Figures 3, 7 and 9).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from datasets import DatasetInfo, Features
from datasets.info import DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from emomv_hf.citation import BIBTEX as CITATION
from emomv_hf.emotions import ALLOWED_MISMATCH_PAIRS, EMOTIONS
from emomv_hf.io_utils import counted, markdown_table

from .hub_folder import DATA_DIR
from .pairing import SWAP_ALLOCATION_RULE, mismatch_matrix
from .schema import (
    EXTRACTED_SEGMENT_FEATURES,
    PAIR_FEATURES,
    PAIRS_CONFIG,
    SEGMENT_FEATURES,
    SEGMENTS_CONFIG,
    split_counts,
)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "emomv_dataset_card.md"

MEDIA_RIGHTS = (
    "The features are derived from music videos whose own rights stay with their owners; no audio or video is "
    "included."
)
RELEASE_LICENSE_NOTE = (
    "MIT, as the authors' release (Copyright (c) 2022 ivyha010, "
    f"[LICENSE](https://github.com/ivyha010/EmoMV/blob/main/LICENSE)). {MEDIA_RIGHTS}"
)
"""The licence of the folders built from the authors' release, and only of those."""

UNKNOWN_LICENSE = "other"
"""The Hub's licence id for "none of the listed ones": the default of a dataset made from the user's own data."""


def user_license_note(license: str) -> str:
    """The licence section of a dataset made from the user's own segments or media, whose terms only its maker
    knows (``--license``); never the authors' licence, which covers their release alone."""
    if license == UNKNOWN_LICENSE:
        stated = (
            "Unknown: whoever built this folder stated no licence (`--license`). Ask them before reusing it."
        )
    else:
        stated = f"`{license}`, as stated by whoever built this folder (`--license`)."
    return f"{stated} {MEDIA_RIGHTS.replace('music videos', 'media')}"


PAPER_PAIRING = """The pairs follow the paper's recipe (section 3.1), split by split: the segments are divided into
two clusters with equal counts per emotion; cluster 1 stays as *matched* pairs (a segment's own video and
music); cluster 2 becomes *mismatched* pairs by swapping music between two segments whose emotions form one
of the eight allowed pairs (exciting-fearful, exciting-tense, exciting-sad, exciting-relaxing, fearful-sad,
fearful-relaxing, tense-sad, tense-relaxing; fearful-tense and sad-relaxing are excluded because their music
is too alike), so each swap gives two mismatched pairs and the matrices of "Mismatched pairs by emotion" above
are symmetric; cluster-2 segments left over return to the matched side; finally matched pairs may be dropped to
balance the two classes."""


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M"


def _labelled(pairs: pa.Table, label: int) -> pa.Table:
    """The rows of a ``pairs`` table with ``label`` (1 matched, 0 mismatched)."""
    return pairs.filter(pc.equal(pairs.column("label"), label))


def _mismatch_table(table: pa.Table) -> str:
    """The 5 x 5 mismatched-pair counts of a ``pairs`` table: rows video emotion, columns music emotion."""
    mismatched = _labelled(table, 0)
    matrix = mismatch_matrix(
        zip(mismatched["video_emotion"].to_pylist(), mismatched["music_emotion"].to_pylist(), strict=True)
    )
    return markdown_table(
        ["video \\ music", *EMOTIONS], [[EMOTIONS[i], *row] for i, row in enumerate(matrix)]
    )


def card_data(
    tables: Mapping[str, Mapping[str, pa.Table]], features: Mapping[str, Features], **fields: Any
) -> DatasetCardData:
    """The card YAML of a folder holding ``tables`` (config -> split -> table): ``fields`` (licence, tags, ...),
    the size category and tasks, ``configs`` (data files per split; the first config is the default) and ``dataset_info`` (``features`` of
    each config, split sizes), written by datasets' own card-data writers as ``push_to_hub`` does."""
    rows = sum(table.num_rows for splits in tables.values() for table in splits.values())
    data = DatasetCardData(
        size_categories=_size_category(rows),
        task_categories=["video-classification", "audio-classification"],
        **fields,
    )
    MetadataConfigs(
        {
            config: {
                "data_files": [
                    {"split": split, "path": f"{DATA_DIR}/{config}/{split}-*"} for split in splits
                ],
                **({"default": True} if index == 0 else {}),
            }
            for index, (config, splits) in enumerate(tables.items())
        }
    ).to_dataset_card_data(data)
    infos = {}
    for config, splits in tables.items():
        split_dict = SplitDict()
        for split, table in splits.items():
            split_dict.add(SplitInfo(split, num_bytes=table.nbytes, num_examples=table.num_rows))
        infos[config] = DatasetInfo(features=features[config], splits=split_dict)
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data


def make_dataset_card(
    *,
    pretty_name: str,
    summary: str,
    tables: Mapping[str, Mapping[str, pa.Table]],
    provenance: Sequence[str],
    pairing_note: str,
    repo_id: str,
    license: str,
    license_note: str,
    labels_note: str,
    labelling: str | None = None,
) -> DatasetCard:
    """Dataset card for the tables of one dataset (config -> split -> table, schema of :mod:`.schema`).

    Args:
        summary: a paragraph on what the data is.
        provenance: Markdown bullet lines on how this folder was built (sources, versions, options).
        pairing_note: how the pairs of *this* dataset were made (release pairs or :func:`make_pairs` options).
        repo_id: where the loading example loads it from: the Hub id it is pushed to, else the folder as the
            user gave it (``datasets/my-emomv``).
        license, license_note: the Hub licence id (YAML) and the Licence section (:data:`RELEASE_LICENSE_NOTE`
            for the authors' release, :func:`user_license_note` for the user's own data).
        labels_note: the first limitation: where the emotion labels come from and how far they can be trusted.
        labelling: Markdown on how the segments' emotions were obtained (a tagger's filters and their counts),
            shown in its own section; None for human or released labels.
    """
    pairs = tables.get(PAIRS_CONFIG, {})
    segments = tables.get(SEGMENTS_CONFIG, {})
    data = card_data(
        tables,
        {PAIRS_CONFIG: PAIR_FEATURES, SEGMENTS_CONFIG: SEGMENT_FEATURES},
        license=license,
        pretty_name=pretty_name,
        tags=["music", "video", "emotion", "audio-visual-correspondence", "cross-modal-retrieval", "emomv"],
    )
    split_rows = [["pairs", split, *split_counts(table).values()] for split, table in pairs.items()]
    split_rows += [["segments", split, table.num_rows, "", ""] for split, table in segments.items()]
    return DatasetCard.from_template(
        data,
        template_path=str(TEMPLATE),
        pretty_name=pretty_name,
        summary=summary,
        repo_id=repo_id,
        splits_table=markdown_table(["config", "split", "rows", "matched", "mismatched"], split_rows),
        per_emotion_table=_emotion_counts_table(pairs, "video_emotion", matched_only=True) if pairs else "",
        mismatch_tables=[(split, _mismatch_table(table)) for split, table in pairs.items()],
        segment_emotion_table=_emotion_counts_table(segments, "emotion") if segments else "",
        paper_pairing=PAPER_PAIRING,
        pairing_note=pairing_note,
        labelling=labelling,
        limitations=[labels_note, *_size_limitations(pairs)],
        allowed_pairs=", ".join(f"{a}-{b}" for a, b in ALLOWED_MISMATCH_PAIRS),
        swap_rule=SWAP_ALLOCATION_RULE,
        provenance="\n".join(provenance),
        license_note=license_note,
        bibtex=CITATION,
    )


def _size_limitations(pairs: Mapping[str, pa.Table]) -> list[str]:
    """What this dataset's own pair counts limit: the smallest split's weight of one pair, and the emotions a split
    has no matched pair of (its per-emotion results cannot be measured there)."""
    if not pairs:
        return []
    split, table = min(pairs.items(), key=lambda item: item[1].num_rows)
    lines = [
        f"The smallest split, `{split}`, holds {counted(table.num_rows, 'pair')}: one pair "
        f"is {100 / max(table.num_rows, 1):.1f} points of accuracy there, so compare means over seeds or folds, "
        "not single runs."
    ]
    for split, table in pairs.items():
        matched = set(_labelled(table, 1)["video_emotion"].to_pylist())
        absent = [emotion for index, emotion in enumerate(EMOTIONS) if index not in matched]
        if absent:
            lines.append(f"Split `{split}` has no matched pair of {', '.join(absent)}.")
    return lines


def _emotion_counts_table(tables: Mapping[str, pa.Table], column: str, matched_only: bool = False) -> str:
    """Rows per split and emotion of ``column`` (only matched pairs with ``matched_only``)."""
    rows = []
    for split, table in tables.items():
        counts = Counter((_labelled(table, 1) if matched_only else table)[column].to_pylist())
        rows.append([split, *(counts.get(i, 0) for i in range(len(EMOTIONS)))])
    return markdown_table(["split", *EMOTIONS], rows)


EXTRACTION_TEMPLATE = Path(__file__).resolve().parent / "templates" / "extraction_dataset_card.md"


def make_extraction_card(
    *,
    name: str,
    tables: Mapping[str, pa.Table],
    settings: Mapping[str, Any],
    media: str,
    left_out: int = 0,
) -> DatasetCard:
    """Card of a folder written by :func:`emomv_hf.features.extract_dataset`: ``tables`` split -> rows of
    :data:`~emomv_hf.data.schema.EXTRACTED_SEGMENT_FEATURES`, ``settings`` the extraction options, its
    ``extractors`` (kind -> ``source``, ``sha256``, ``random_weights``) named in a table, with a warning at the
    top when any had random weights."""
    extractors = dict(settings.get("extractors", {}))
    data = card_data(
        {SEGMENTS_CONFIG: tables},
        {SEGMENTS_CONFIG: EXTRACTED_SEGMENT_FEATURES},
        pretty_name=name,
        tags=["music", "video", "emotion", "emomv", "features"],
    )
    split_rows = []
    emotion_rows = []
    for split, table in tables.items():
        video = table.column("video_features").null_count
        music = table.column("music_features").null_count
        split_rows.append([split, table.num_rows, table.num_rows - video, table.num_rows - music])
        counts = Counter(table["emotion"].to_pylist())
        emotion_rows.append([split, *(counts.get(i, 0) for i in range(len(EMOTIONS))), counts.get(None, 0)])
    return DatasetCard.from_template(
        data,
        template_path=str(EXTRACTION_TEMPLATE),
        name=name,
        media=media,
        settings=sorted((key, value) for key, value in settings.items() if key != "extractors"),
        extractors_table=markdown_table(
            ["extractor", "weights", "SHA-256 (config, weights, processor)", "random weights"],
            [
                [
                    kind,
                    f"`{f.get('source')}`",
                    f"`{f.get('sha256')}`",
                    "**yes**" if f.get("random_weights") else "no",
                ]
                for kind, f in sorted(extractors.items())
            ],
        )
        if extractors
        else "",
        random_extractors=[kind for kind, f in sorted(extractors.items()) if f.get("random_weights")],
        left_out=left_out,
        splits_table=markdown_table(["split", "segments", "with video", "with music"], split_rows),
        emotion_table=markdown_table(["split", *EMOTIONS, "unlabelled"], emotion_rows),
    )
