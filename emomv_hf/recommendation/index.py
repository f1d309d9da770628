"""A music library's retrieval embeddings, computed once by a retrieval model and indexed with faiss.

Every similarity of the retrieval models is the inner product of two streams' retrieval vectors
(`encode_stream`), except the baseline's `1 / (Euclidean distance + eps)` of unit vectors, which is a decreasing
function of their inner product. So each stream of the library is one faiss inner-product index over those vectors
(`datasets.Dataset.add_faiss_index`): exact (`IndexFlatIP`) up to :data:`EXACT_SEARCH_MAX_VECTORS` vectors, HNSW
above it. Candidates from faiss are re-scored with the model's own `pairwise_similarity`, so scores are the
model's, whatever the index.

On disk (``INDEX_DIR``, by default in the Hugging Face cache, :func:`default_index_dir`, never in the library's
folder: a dataset folder holds only what a build writes, and is pushed to the Hub whole)::

    index.json              model fingerprint, similarity, library and its content hash, index type per stream,
                                counts, and the SHA-256 of every other file of the index
    music/                  datasets.Dataset.save_to_disk: segment_id, track, media, start, end, emotion,
    music.faiss                 vectors, emotion_probabilities; and its faiss index
    video/, video.faiss     the same for the library's video segments (those with video features)

An index is written into a staging folder and moved into place complete. Loading it checks that the same model
built it, from the library's present content, and that none of its files changed since (:meth:`LibraryIndex.open`
says what happens to a stale one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from transformers import PreTrainedModel

from emomv_hf.data.loading import Segments, load_segments
from emomv_hf.data.schema import fixed_size_list_array, source_video_id
from emomv_hf.io_utils import (
    atomic_write_json,
    dataset_folder_sha256,
    file_sha256,
    looks_like_local_path,
    model_fingerprint,
    progress_bars_off,
    replacing_dir,
)

logger = logging.getLogger(__name__)

INDEX_FORMAT_VERSION = 3
"""2: keyed by the library's content, with checksums of the index files; 3: a segment without a source is in the
track of the video its id names (version 2 made it a track of its own). An index of another version is stale."""
INDEX_RECORD_KEYS = {"format_version", "model_fingerprint", "model_class", "similarity", "library", "split"}
INDEX_RECORD_KEYS |= {"splits", "library_rows", "library_sha256", "streams", "files"}
"""What an index.json records (see :meth:`LibraryIndex.build`)."""
STREAMS = ("video", "music")
INDEX_ENTRIES = {"index.json", *STREAMS, *(f"{stream}.faiss" for stream in STREAMS)}
"""Every name an index folder holds (see the module docstring)."""
OTHER_STREAM = {"video": "music", "music": "video"}
INDEX_TYPES = ("auto", "exact", "hnsw")

EXACT_SEARCH_MAX_VECTORS = 400_000
"""`auto` builds an exact index up to this many vectors and HNSW above: the largest library size at which exact
single-query search stayed under 5 ms in `benchmarks/bench_retrieval.py` on the idle 2-core machine (64-d, one
faiss thread: 3.4 ms at 400,000, 6.0 ms at 700,000, 8.3 ms at 1,000,000; see benchmarks/README.md)."""

HNSW_NEIGHBOURS = 48
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 512
"""HNSW settings (M, efConstruction, efSearch). At 1,000,000 clustered 64-d vectors (`bench_retrieval.py`, see
benchmarks/README.md) efSearch 512 is the smallest setting that reaches the 0.95 recall@10 goal on this graph:
0.981 at 2.0 ms per query (256: 0.946), built in 392 s. The smaller graph M=32, efConstruction=80 builds in
124 s but reaches the goal only at efSearch 1024 (0.957 at 3.0 ms)."""

ENCODE_BATCH_SIZE = 1024
"""Rows per model call while indexing (the evaluation's batch size, so vectors are bit-identical to its)."""


class IndexMismatchError(ValueError):
    """An index on disk was built by another model (weights or configuration) or from another library."""


class StaleIndexError(IndexMismatchError):
    """An index whose files changed since it was written, or that was built from other contents of its library
    (or of another library, split or index format)."""


def model_similarity(model: PreTrainedModel) -> str:
    """The similarity a retrieval model scores with (`cosine`, `emotion`, `mix`, or the baseline's `inverse-l2`)."""
    config = model.config
    if getattr(config, "family", None) == "baseline":
        return "inverse-l2"
    member = getattr(config, "member_config", None)
    return getattr(member if member is not None else config, "similarity", "cosine")


def task_model(model: str | PreTrainedModel, task: str) -> PreTrainedModel:
    """``model`` (loaded first if it is a folder or Hub id) in eval mode; a `ValueError` unless it was trained for
    ``task`` (``retrieval``: recommendation, ``correspondence``: pair matching)."""
    if isinstance(model, str):
        from emomv_hf.models_registry import load_model

        model = load_model(model)
    found = getattr(model.config, "task", None)
    if found != task:
        name = task.capitalize()
        raise ValueError(
            f"{type(model).__name__} (task {found!r}) is not a {task} model: this needs EmoMVFor{name}, "
            f"EmoMVBaselineFor{name} or a {task} EmoMVEnsemble (train with `--task {task}`)"
        )
    return model.eval()


def default_index_dir(library: str, model: PreTrainedModel, split: str | None = None) -> Path:
    """``$HF_HOME/emomv_hf/retrieval-index/<library key>/<model fingerprint[:16]>``: the library key is its folder
    name (or Hub id, ``org--name``) and a hash of its absolute path (or Hub id) and ``split``, so two folders of
    one name, or two splits, keep separate indexes; a library whose content changes keeps its key (its index is
    rebuilt in place, see :meth:`LibraryIndex.open`)."""
    from huggingface_hub import constants

    local = looks_like_local_path(library)
    identity = str(Path(library).expanduser().resolve()) if local else library
    name = Path(identity).name if local else library.replace("/", "--")
    key = hashlib.sha256(f"{identity}\0{split or ''}".encode()).hexdigest()[:16]
    return Path(
        constants.HF_HOME, "emomv_hf", "retrieval-index", f"{name}-{key}", model_fingerprint(model)[:16]
    )


def read_library(library: str, split: str | None = None) -> Segments:
    """:func:`load_segments`, with one-line errors (`ValueError`) for a library datasets cannot read (a
    truncated or empty Parquet or Arrow file of a local folder is named: see
    :func:`~emomv_hf.data.loading.unreadable_file_message`), that holds no segments or a segment id twice."""
    from datasets.exceptions import DatasetGenerationError

    verbosity = datasets.logging.get_verbosity()
    # datasets logs "Failed to read file ..." before raising: the error below names the file in one line.
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        segments = load_segments(library, split)
    except DatasetGenerationError as error:  # a Hub id's files, which are not named
        raise ValueError(f"library {library}: {error.__cause__ or error}") from None
    except ValueError as error:
        if "corresponds to no data" not in str(error):  # datasets' words for a split of zero rows
            raise ValueError(f"library {library}: {error}") from None
        segments = None
    finally:
        datasets.logging.set_verbosity(verbosity)
    if segments is None or not len(segments):
        raise ValueError(f"library {library} holds no segments (0 rows): nothing to rank")
    segments.check_unique_ids(library)  # queries and the pair matcher look segments up by id
    return segments


def library_sha256(library: str, split: str | None = None) -> str:
    """``sha256:<hex>`` of a library's content: a local folder's Parquet files
    (:func:`~emomv_hf.io_utils.dataset_folder_sha256`, every split) and its README.md (``+<hex>``), else every
    column of the rows datasets resolved for it (a Hub id at its current revision, a folder of Arrow files)."""
    if looks_like_local_path(library) and (parquet_sha256 := dataset_folder_sha256(library)) is not None:
        card = Path(library).expanduser() / "README.md"  # its configs say which files hold the rows
        return parquet_sha256 + (f"+{file_sha256(card)}" if card.is_file() else "")
    digest = hashlib.sha256()
    for batch in read_library(library, split).table.to_batches():
        for column in batch.columns:  # every buffer, the nested features' values and validity included
            for buffer in column.buffers():
                digest.update(b"" if buffer is None else buffer)
    return "sha256:" + digest.hexdigest()


def index_files_sha256(path: Path) -> dict[str, str]:
    """SHA-256 of every file of an index folder but ``index.json`` (which records them), by relative path."""
    files = sorted(entry for entry in path.rglob("*") if entry.is_file() and entry.name != "index.json")
    return {entry.relative_to(path).as_posix(): file_sha256(entry) for entry in files}


def library_metadata(segments: Segments) -> dict[str, pa.Array]:
    """Per-row metadata of library rows: a segment without a `source` (no column, as in a built EmoMV dataset, or
    null) is in the track of the video its id names (:func:`~emomv_hf.data.schema.source_video_id`, as pairing)."""
    table, rows = segments.table, len(segments)
    segment_ids = table.column("segment_id").combine_chunks()

    def column(name: str, kind: pa.DataType) -> pa.Array:
        if name not in table.column_names:
            return pa.nulls(rows, kind)
        return table.column(name).combine_chunks().cast(kind)

    # datasets' ClassLabel stores -1 for a missing label (load_emomv refused any other value outside the classes).
    emotions = pc.if_else(pc.equal(labels := column("emotion", pa.int64()), -1), None, labels)
    return {
        "segment_id": segment_ids,
        "track": pc.coalesce(
            column("source", pa.string()),
            pa.array(map(source_video_id, segment_ids.to_pylist()), pa.string()),
        ),
        "media": column("media", pa.string()),
        "start": column("start", pa.float64()),
        "end": column("end", pa.float64()),
        "emotion": emotions,
    }


@torch.no_grad()
def encode_features(
    model: PreTrainedModel, features: np.ndarray, stream: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw ``stream`` features `(N, feature_size)` → retrieval vectors `(N, D')` and emotion probabilities
    `(N, 5)` (``None`` for a single-task model), float32, in one model call."""
    inputs = model.prepare_inputs(**{f"{stream}_features": features})
    vectors, probabilities = model.encode_stream(inputs[f"{stream}_features"], stream)
    return (
        vectors.float().cpu().numpy(),
        None if probabilities is None else probabilities.float().cpu().numpy(),
    )


def resolved_index_type(index_type: str, size: int) -> str:
    """``exact`` or ``hnsw``: ``index_type``, or for ``auto`` exact up to :data:`EXACT_SEARCH_MAX_VECTORS`."""
    if index_type != "auto":
        return index_type
    return "exact" if size <= EXACT_SEARCH_MAX_VECTORS else "hnsw"


def make_faiss_index(
    index_type: str,
    dimension: int,
    size: int,
    neighbours: int = HNSW_NEIGHBOURS,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
):
    """``(kind, empty faiss inner-product index)`` for ``index_type`` (``auto``: exact up to
    :data:`EXACT_SEARCH_MAX_VECTORS` vectors, else HNSW with this module's settings; the benchmark passes others
    to compare graphs)."""
    import faiss

    index_type = resolved_index_type(index_type, size)
    if index_type == "exact":
        return "exact", faiss.IndexFlatIP(dimension)
    index = faiss.IndexHNSWFlat(dimension, neighbours, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return "hnsw", index


@dataclass
class StreamIndex:
    """One stream's library segments (`datasets.Dataset` with a faiss index named ``vectors``)."""

    stream: str
    entries: datasets.Dataset
    index_type: str

    def __len__(self) -> int:
        return len(self.entries)

    def row_of(self, segment_id: str) -> int | None:
        row = self.entries.data.column("segment_id").index(segment_id).as_py()  # -1: not in the library
        return None if row < 0 else row

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """Retrieval vectors of the given rows `(len(rows), D')`, float32."""
        return np.asarray(self.entries.with_format("numpy", columns=["vectors"])[rows]["vectors"], np.float32)

    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        """Rows of the ``k`` best inner products with ``query`` `(D',)`, best first (faiss order)."""
        import faiss

        # One query on one OpenMP thread: waking more threads costs more than the search itself (see
        # benchmarks/bench_retrieval.py, which measures both).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            _, indices = self.entries.search("vectors", np.ascontiguousarray(query, np.float32), k=k)
        finally:
            faiss.omp_set_num_threads(threads)
        return indices[indices >= 0]


class LibraryIndex:
    """A library's indexed retrieval vectors for one model: :meth:`open` (builds it when needed) or :meth:`load`."""

    def __init__(self, path: Path, info: dict[str, Any], streams: dict[str, StreamIndex]):
        self.path, self.info, self.streams = path, info, streams

    def __repr__(self) -> str:  # what recommend.py --build-index prints
        sizes = ", ".join(f"{s}: {len(index)} ({index.index_type})" for s, index in self.streams.items())
        return f"LibraryIndex({self.info['library']!r}, {sizes}, at {self.path})"

    def check_model(self, model: PreTrainedModel) -> None:
        """Raise :class:`IndexMismatchError` unless ``model`` built this index (its :func:`model_fingerprint`):
        another model's vectors are in another embedding space, and would be ranked without a word."""
        info, fingerprint, similarity = self.info, model_fingerprint(model), model_similarity(model)
        if info["model_fingerprint"] != fingerprint:
            raise IndexMismatchError(
                f"{self.path}: this index was built by another model ({info['model_class']} "
                f"{info.get('model_name_or_path') or ''}, similarity {info['similarity']}, fingerprint "
                f"{info['model_fingerprint'][:16]}); the given model is {type(model).__name__} with similarity "
                f"{similarity}, fingerprint {fingerprint[:16]}. Rebuild the index for this model with "
                "--build-index (or use --index-dir for a separate one)"
            )

    @classmethod
    def build(
        cls,
        model: PreTrainedModel,
        library: str,
        target: Path,
        split: str | None,
        index_type: str,
        progress: bool,
        content_sha256: str,
    ) -> LibraryIndex:
        """Encode every segment of ``library`` (a ``segments``-style dataset folder or Hub id) with ``model``,
        index each stream and save it in ``target`` (:meth:`open` checks the arguments and passes the library's
        :func:`library_sha256`)."""
        from tqdm.auto import tqdm

        from emomv_hf.data.hub_folder import UnexpectedFilesError

        # Not an index, but a folder of the user's (an --index-dir; its own index.json, a web app's, included):
        # replacing it would delete what it holds.
        names = {entry.name for entry in target.iterdir()} if target.exists() else set()
        if names and ("index.json" not in names or not names <= INDEX_ENTRIES):
            raise UnexpectedFilesError(
                f"{target}: not empty and not an index; give an empty or new --index-dir"
            )
        segments = read_library(library, split)
        metadata = library_metadata(segments)
        info: dict[str, Any] = {
            "format_version": INDEX_FORMAT_VERSION,
            "model_fingerprint": model_fingerprint(model),
            "model_class": type(model).__name__,
            "model_name_or_path": model.config._name_or_path,
            "similarity": model_similarity(model),
            "library": library,
            "split": split,
            "splits": segments.splits,
            "library_rows": len(segments),
            "library_sha256": content_sha256,
            "streams": {},
        }
        with replacing_dir(target) as staging:
            for stream in STREAMS:
                features, present = segments.features(stream)
                rows = np.flatnonzero(present)
                if not len(rows):
                    continue
                encoded = []  # (vectors, emotion probabilities or None) per batch
                bar = tqdm(total=len(rows), desc=f"encoding {stream}", unit="segment", disable=not progress)
                # The library's features were checked finite when they were extracted or released.
                for start in range(0, len(rows), ENCODE_BATCH_SIZE):
                    batch = features[rows[start : start + ENCODE_BATCH_SIZE]]
                    try:
                        encoded.append(encode_features(model, batch, stream))
                    except ValueError as error:  # e.g. features of another width than the model's
                        raise ValueError(f"library {library} does not fit the model: {error}") from None
                    bar.update(len(batch))
                bar.close()
                vectors, probabilities = zip(*encoded, strict=True)
                stacked = np.concatenate(vectors)
                columns = {name: values.take(pa.array(rows)) for name, values in metadata.items()}
                columns["vectors"] = fixed_size_list_array(stacked)
                if probabilities[0] is not None:  # a single-task model predicts no emotions
                    columns["emotion_probabilities"] = fixed_size_list_array(np.concatenate(probabilities))
                entries = datasets.Dataset(pa.Table.from_pydict(columns))
                kind, faiss_index = make_faiss_index(index_type, stacked.shape[1], len(stacked))
                with progress_bars_off("datasets"):
                    entries.add_faiss_index("vectors", custom_index=faiss_index, batch_size=10_000)
                    entries.save_faiss_index("vectors", staging / f"{stream}.faiss")
                    entries.drop_index("vectors")
                    entries.save_to_disk(str(staging / stream))
                info["streams"][stream] = {
                    "segments": len(rows),
                    "dimension": int(stacked.shape[1]),
                    "index": kind,
                }
            if not info["streams"]:
                raise ValueError(f"library {library!r} has no video or music features to index")
            info["files"] = index_files_sha256(staging)
            atomic_write_json(staging / "index.json", info)
        logger.info("indexed %s into %s", library, target)
        return cls.load(model, index_dir=target)

    @classmethod
    def load(cls, model: PreTrainedModel, *, index_dir: str | os.PathLike) -> LibraryIndex:
        """Open the index in ``index_dir``; raises :class:`IndexMismatchError` if ``model`` did not build it and
        :class:`StaleIndexError` if its files changed since it was written (or it has another format)."""
        path = Path(index_dir)
        # The package's own, written atomically (open() builds an index where there is no index.json), but damaged
        # or hand-edited (an index from someone else) it is stale, not a traceback.
        try:
            info = json.loads((path / "index.json").read_text(encoding="utf-8"))
        except ValueError as error:
            info = str(error)
        if not isinstance(info, dict) or not info.keys() >= INDEX_RECORD_KEYS:
            raise StaleIndexError(f"{path / 'index.json'}: not the record of an index ({info!s:.80})")
        if (found := info["format_version"]) != INDEX_FORMAT_VERSION:
            raise StaleIndexError(f"{path}: index format {found}, this version reads {INDEX_FORMAT_VERSION}")
        index = cls(path, info, {})
        index.check_model(model)
        # The checksums catch what faiss and datasets would read without a word (video.faiss and music.faiss
        # swapped: same sizes, other rankings) or fail on with a traceback (a truncated file).
        found = index_files_sha256(path)
        changed = sorted(
            name for name in info["files"].keys() | found.keys() if info["files"].get(name) != found.get(name)
        )
        if changed:
            raise StaleIndexError(
                f"{path}: index file(s) {', '.join(changed)} changed since the index was written (truncated, "
                "replaced or missing)"
            )
        import faiss  # noqa: F401  (datasets' load_faiss_index needs it)

        for stream, details in info["streams"].items():
            entries = datasets.load_from_disk(str(path / stream))
            entries.load_faiss_index("vectors", str(path / f"{stream}.faiss"))
            faiss_index = entries.get_index("vectors").faiss_index
            if hasattr(faiss_index, "hnsw"):
                faiss_index.hnsw.efSearch = HNSW_EF_SEARCH
            index.streams[stream] = StreamIndex(stream, entries, details["index"])
        return index

    @classmethod
    def open(
        cls,
        model: PreTrainedModel,
        library: str,
        *,
        index_dir: str | os.PathLike | None = None,
        split: str | None = None,
        index_type: str = "auto",
        rebuild: bool = False,
        progress: bool = True,
    ) -> LibraryIndex:
        """Load the library's index for ``model``, building it first if there is none (or ``rebuild``).

        An index is stale when its files changed or the library's content (:func:`library_sha256`), split or the
        index format differ from what built it. A stale index in the default location (the package's cache,
        :func:`default_index_dir`) is rebuilt with a warning; one in an ``index_dir`` the user named is refused
        (:class:`StaleIndexError`): that folder is theirs (an index shipped with a Space, one that several
        processes read) and rebuilding a large library takes minutes, so it is only rebuilt when asked.
        """
        model = task_model(model, "retrieval")
        if index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be one of {INDEX_TYPES}, got {index_type!r}")
        library = str(library)
        target = Path(index_dir) if index_dir is not None else default_index_dir(library, model, split)
        content = library_sha256(library, split)
        if not rebuild and (target / "index.json").is_file():
            try:
                index = cls.load(model, index_dir=target)
                if (index.info["library_sha256"], index.info["split"]) != (content, split):
                    raise StaleIndexError(
                        f"{target}: this index holds library {index.info['library']!r} (splits "
                        f"{', '.join(index.info['splits'])}, {index.info['library_rows']} rows, "
                        f"{index.info['library_sha256'][:23]}), not the present {library!r}"
                        f"{f' split {split!r}' if split else ''} ({content[:23]})"
                    )
                for name, stream in index.streams.items():
                    if stream.index_type != resolved_index_type(index_type, len(stream)):
                        message = (
                            f"its {name} index is {stream.index_type}, not that of index type {index_type}"
                        )
                        raise StaleIndexError(f"{target}: {message}")
                # The same content, named as now: a relative path it was built from names another folder here.
                index.info["library"] = library
                return index
            except StaleIndexError as error:
                if index_dir is not None:
                    raise StaleIndexError(
                        f"{error}; rebuild it with --build-index (an --index-dir is only rebuilt when asked)"
                    ) from None
                warnings.warn(f"{error}: rebuilding it", stacklevel=2)
        return cls.build(model, library, target, split, index_type, progress, content)

    def stream(self, stream: str) -> StreamIndex:
        if stream not in self.streams:
            raise ValueError(
                f"library {self.info['library']!r} has no {stream} segments (it holds "
                f"{', '.join(self.streams) or 'none'}); a {OTHER_STREAM[stream]} query needs {stream} in the library"
            )
        return self.streams[stream]
