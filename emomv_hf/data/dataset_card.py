"""The generated dataset card of an EmoMV Hub dataset (huggingface_hub ``DatasetCard``).

One function writes every card, from the tables themselves: YAML (licence, configs, splits, features) so
that ``load_dataset`` finds the data, and a body with the summary, per-split counts, the mismatch
emotion-pair matrices (as the paper's Figures 3, 7 and 9), how the pairs were made, the build provenance,
the licence, the citation and a loading example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import pyarrow as pa
from datasets import DatasetInfo, Features, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.splits import SplitDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from emomv_hf.citation import BIBTEX as CITATION
from emomv_hf.emotions import ALLOWED_MISMATCH_PAIRS, EMOTIONS

from .hub_folder import data_files_pattern
from .pairing import SWAP_ALLOCATION_RULE, mismatch_matrix
from .schema import PAIR_FEATURES, PAIRS_CONFIG, SEGMENT_FEATURES, SEGMENTS_CONFIG

LICENSE_NOTE = (
    "MIT, as the authors' release (Copyright (c) 2022 ivyha010, "
    "[LICENSE](https://github.com/ivyha010/EmoMV/blob/main/LICENSE)). The features are derived from music "
    "videos whose own rights stay with their owners; no audio or video is included."
)

CONFIG_FEATURES: dict[str, Features] = {PAIRS_CONFIG: PAIR_FEATURES, SEGMENTS_CONFIG: SEGMENT_FEATURES}

PAPER_PAIRING = """The pairs follow the paper's recipe (section 3.1), split by split: the segments are divided into
two clusters with equal counts per emotion; cluster 1 stays as *matched* pairs (a segment's own video and
music); cluster 2 becomes *mismatched* pairs by swapping music between two segments whose emotions form one
of the eight allowed pairs (exciting-fearful, exciting-tense, exciting-sad, exciting-relaxing, fearful-sad,
fearful-relaxing, tense-sad, tense-relaxing; fearful-tense and sad-relaxing are excluded because their music
is too alike), so each swap gives two mismatched pairs and the matrix below is symmetric; cluster-2 segments
left over return to the matched side; finally matched pairs may be dropped to balance the two classes."""


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M"


def _column(table: pa.Table, name: str) -> list[int]:
    return table.column(name).to_pylist()


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def split_counts(table: pa.Table) -> dict[str, int]:
    """``rows``, ``matched`` and ``mismatched`` counts of a ``pairs`` table."""
    labels = Counter(_column(table, "label"))
    return {"rows": table.num_rows, "matched": labels.get(1, 0), "mismatched": labels.get(0, 0)}


def mismatch_matrix_table(table: pa.Table) -> list[list[int]]:
    """5 x 5 mismatched-pair counts of a ``pairs`` table: rows video emotion, columns music emotion."""
    columns = zip(
        _column(table, "label"), _column(table, "video_emotion"), _column(table, "music_emotion"), strict=True
    )
    return mismatch_matrix((video, music) for label, video, music in columns if label == 0)


def _split_dict(splits: Mapping[str, pa.Table]) -> SplitDict:
    result = SplitDict()
    for split, table in splits.items():
        result.add(SplitInfo(name=split, num_bytes=table.nbytes, num_examples=table.num_rows))
    return result


def _card_yaml(tables: Mapping[str, Mapping[str, pa.Table]], card_data: DatasetCardData) -> None:
    configs = [config for config in (PAIRS_CONFIG, SEGMENTS_CONFIG) if tables.get(config)]
    metadata = MetadataConfigs(
        {
            config: {
                "data_files": [
                    {"split": split, "path": data_files_pattern(config, split)} for split in tables[config]
                ],
                **({"default": True} if index == 0 else {}),
            }
            for index, config in enumerate(configs)
        }
    )
    metadata.to_dataset_card_data(card_data)
    infos = DatasetInfosDict(
        {
            config: DatasetInfo(
                config_name=config,
                features=CONFIG_FEATURES[config],
                splits=_split_dict(tables[config]),
            )
            for config in configs
        }
    )
    infos.to_dataset_card_data(card_data)


def make_dataset_card(
    *,
    name: str,
    pretty_name: str,
    summary: str,
    tables: Mapping[str, Mapping[str, pa.Table]],
    provenance: Sequence[str],
    pairing_note: str,
    repo_id: str | None = None,
) -> DatasetCard:
    """Dataset card for the tables of one dataset (config -> split -> table, schema of :mod:`.schema`).

    Args:
        name: folder / repository name, e.g. ``"emomv-c"``.
        summary: a paragraph on what the data is.
        provenance: Markdown bullet lines on how this folder was built (sources, versions, options).
        pairing_note: how the pairs of *this* dataset were made (release pairs or :func:`make_pairs` options).
        repo_id: Hub id used in the loading example (default ``emomv/<name>``).
    """
    repo_id = repo_id or f"emomv/{name}"
    pairs = tables.get(PAIRS_CONFIG, {})
    segments = tables.get(SEGMENTS_CONFIG, {})
    total_rows = sum(table.num_rows for config in tables.values() for table in config.values())
    card_data = DatasetCardData(
        license="mit",
        pretty_name=pretty_name,
        size_categories=_size_category(total_rows),
        task_categories=["video-classification", "audio-classification"],
        tags=["music", "video", "emotion", "audio-visual-correspondence", "cross-modal-retrieval", "emomv"],
    )
    _card_yaml(tables, card_data)

    body = [f"# {pretty_name}", "", summary, ""]
    body += [
        "Columns of the `pairs` config (default): `pair_id`, `video_segment_id`, `music_segment_id`, `label` "
        "(0 mismatched, 1 matched), `video_emotion`, `music_emotion` (0 exciting, 1 fearful, 2 tense, 3 sad, "
        "4 relaxing), `video_features` (2304 float32: SlowFast R50, Kinetics) and `music_features` (128 "
        "float32: VGGish, AudioSet, mean over 0.96 s frames). A matched pair's id is its segment id; a "
        "mismatched pair's id is `<video segment>_PAIR_<music segment>`.",
        "",
        "The `segments` config is the retrieval set, one row per segment whose video and music both carry "
        "`emotion`: `segment_id`, `emotion`, `video_features`, `music_features`.",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'pairs = load_dataset("{repo_id}")  # config "pairs"',
        f'segments = load_dataset("{repo_id}", "segments")',
        f'# or, offline, from a folder built by emomv-hf: load_dataset("path/to/{name}")',
        "```",
        "",
        "## Splits",
        "",
    ]
    rows = []
    for split, table in pairs.items():
        counts = split_counts(table)
        rows.append(["pairs", split, counts["rows"], counts["matched"], counts["mismatched"]])
    for split, table in segments.items():
        rows.append(["segments", split, table.num_rows, "", ""])
    body += [_table(["config", "split", "rows", "matched", "mismatched"], rows), ""]

    if pairs:
        body += ["Matched pairs per emotion:", ""]
        per_emotion = []
        for split, table in pairs.items():
            counts = Counter(
                v
                for v, label in zip(_column(table, "video_emotion"), _column(table, "label"), strict=True)
                if label
            )
            per_emotion.append([split, *(counts.get(i, 0) for i in range(len(EMOTIONS)))])
        body += [_table(["split", *EMOTIONS], per_emotion), ""]
        body += ["## Mismatched pairs by emotion", ""]
        body += ["Rows: emotion of the video stream; columns: emotion of the music stream.", ""]
        for split, table in pairs.items():
            matrix = mismatch_matrix_table(table)
            body += [f"**{split}**", ""]
            body += [
                _table(["video \\ music", *EMOTIONS], [[EMOTIONS[i], *row] for i, row in enumerate(matrix)]),
                "",
            ]
    if segments:
        body += ["Retrieval segments per emotion:", ""]
        seg_rows = []
        for split, table in segments.items():
            counts = Counter(_column(table, "emotion"))
            seg_rows.append([split, *(counts.get(i, 0) for i in range(len(EMOTIONS)))])
        body += [_table(["split", *EMOTIONS], seg_rows), ""]

    allowed = ", ".join(f"{a}-{b}" for a, b in ALLOWED_MISMATCH_PAIRS)
    body += [
        "## How the pairs were made",
        "",
        PAPER_PAIRING,
        "",
        pairing_note,
        "",
        f"Swap allocation among the allowed emotion pairs ({allowed}) in `emomv_hf.data.pairing.make_pairs`: "
        + SWAP_ALLOCATION_RULE,
        "",
        "## Build provenance",
        "",
        *provenance,
        "",
        "## Licence",
        "",
        LICENSE_NOTE,
        "",
        "## Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(body))
