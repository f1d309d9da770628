#!/usr/bin/env python
"""How fast is a library search at 1M segments, and how good is the approximate index? Measured in one run.

    python benchmarks/bench_retrieval.py [--size 1000000] [--queries 1000] [--threads 2] [--plot recall.png]

A synthetic library of ``--size`` L2-normalised ``--dim``-d embeddings drawn from a mixture of ``--clusters``
Gaussian clusters on the sphere (retrieval vectors cluster by emotion and style; uniform data would make every
index look the same), and ``--queries`` fresh queries from the same mixture. Each index is built the way
``LibraryIndex.build`` builds it (``datasets.Dataset.add_faiss_index`` with ``make_faiss_index``'s settings),
then measured with exact search as the reference:

- build time and memory (the serialised index, and the process's resident-memory growth while building);
- single-query latency (one query per call, k=10; median and 95th percentile), through faiss directly and
  through ``StreamIndex.search`` (the recommender's path: datasets' search wrapper);
- batched latency (all queries in one call, per query);
- recall@10 against exact search, for HNSW at several ``efSearch`` values and IVF at several ``nprobe`` values;
- exact search's single-query latency at growing library sizes (prefixes of the library), which is where
  ``EXACT_SEARCH_MAX_VECTORS`` comes from: the largest size whose median stays under ``--latency-goal-ms``.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field

import datasets
import numpy as np
import pyarrow as pa

from emomv_hf.cli import flag, make_parser, parse_or_exit
from emomv_hf.data.schema import fixed_size_list_array
from emomv_hf.recommendation.index import (
    EXACT_SEARCH_MAX_VECTORS,
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_NEIGHBOURS,
    StreamIndex,
    make_faiss_index,
)

K = 10


@dataclass
class BenchmarkArguments:
    size: int = flag("Library vectors.", default=1_000_000)
    dim: int = flag("Vector width (the retrieval models' 64).", default=64)
    queries: int = flag("Query vectors.", default=1000)
    clusters: int = flag("Gaussian clusters of the synthetic library.", default=1000)
    spread: float = flag("Noise norm around a cluster centre (centres: norm 1).", default=0.6)
    threads: int = flag("faiss (OpenMP) threads.", default=2)
    seed: int = flag("Seed of the synthetic data.", default=0)
    ef_search: list[int] = field(
        default_factory=lambda: [32, 64, 128, 256, 512], metadata={"help": "HNSW efSearch values."}
    )
    hnsw_neighbours: int = flag("HNSW M (package default).", default=HNSW_NEIGHBOURS)
    hnsw_ef_construction: int = flag("HNSW efConstruction (package default).", default=HNSW_EF_CONSTRUCTION)
    ivf_lists: int = flag("IVF lists (0: skip IVF).", default=4096)
    nprobe: list[int] = field(
        default_factory=lambda: [8, 16, 32, 64, 128], metadata={"help": "IVF nprobe values."}
    )
    exact_sizes: list[int] = field(
        default_factory=lambda: [50_000, 100_000, 200_000, 400_000, 700_000, 1_000_000],
        metadata={"help": "Library sizes of the exact-search latency sweep (prefixes of the library)."},
    )
    sweep_queries: int = flag("Single queries per size of the exact sweep.", default=200)
    latency_goal_ms: float = flag("Single-query latency goal.", default=5.0)
    recall_goal: float = flag("Recall@10 goal of the approximate index.", default=0.95)
    plot: str | None = flag("Write a recall-versus-latency plot (PNG) here.", default=None)


@dataclass
class ClusteredMixture:
    """Gaussian clusters on the unit sphere with uneven (Zipf) weights, as real libraries have."""

    centres: np.ndarray
    weights: np.ndarray
    spread: float

    @classmethod
    def draw(cls, dim: int, clusters: int, spread: float, rng: np.random.Generator) -> ClusteredMixture:
        centres = rng.standard_normal((clusters, dim)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        sizes = rng.zipf(1.5, clusters).astype(np.float64)
        return cls(centres, sizes / sizes.sum(), spread)

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` unit vectors: a centre plus Gaussian noise of norm about ``spread``, normalised."""
        dim = self.centres.shape[1]
        assignment = rng.choice(len(self.centres), size=count, p=self.weights)
        noise = rng.standard_normal((count, dim)).astype(np.float32) * (self.spread / np.sqrt(dim))
        vectors = self.centres[assignment] + noise
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def resident_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def single_query_ms(search, queries: np.ndarray, threads: int | None = None) -> list[float]:
    """Milliseconds of each one-query call (with ``threads`` OpenMP threads, if given)."""
    import faiss

    previous = faiss.omp_get_max_threads()
    if threads is not None:
        faiss.omp_set_num_threads(threads)
    times = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - start) * 1000)
    faiss.omp_set_num_threads(previous)
    return times


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} ms (p95 {np.percentile(times, 95):.3f})"


def recall_at_k(found: np.ndarray, reference: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(r)) / K for f, r in zip(found, reference, strict=True)]))


@dataclass
class Built:
    kind: str
    entries: datasets.Dataset
    seconds: float
    index_mib: float
    resident_growth_mib: float

    @property
    def faiss_index(self):
        return self.entries.get_index("vectors").faiss_index


def build(kind: str, table: pa.Table, dim: int, **hnsw_settings: int) -> Built:
    """As ``LibraryIndex.build`` does: a datasets table of vectors, ``add_faiss_index`` with a custom index."""
    import faiss

    entries = datasets.Dataset(table)
    before = resident_mib()
    start = time.perf_counter()
    _, index = make_faiss_index(kind, dim, table.num_rows, **hnsw_settings)
    entries.add_faiss_index("vectors", custom_index=index, batch_size=10_000)
    seconds = time.perf_counter() - start
    growth = resident_mib() - before
    size = faiss.serialize_index(entries.get_index("vectors").faiss_index).nbytes / 2**20
    return Built(kind, entries, seconds, size, growth)


def main(argv: list[str] | None = None) -> int:
    import faiss

    parser = make_parser(BenchmarkArguments, description=__doc__.split("\n\n")[0])
    (args,) = parse_or_exit(parser, argv)
    faiss.omp_set_num_threads(args.threads)
    datasets.disable_progress_bars()
    rng = np.random.default_rng(args.seed)
    mixture = ClusteredMixture.draw(args.dim, args.clusters, args.spread, rng)
    library, queries = mixture.sample(args.size, rng), mixture.sample(args.queries, rng)
    table = pa.table(
        {
            "segment_id": pa.array([f"s{i}" for i in range(args.size)]),
            "vectors": fixed_size_list_array(library),
        }
    )
    print(
        f"library: {args.size:,} x {args.dim} clustered vectors ({args.clusters} clusters, spread {args.spread}), "
        f"{args.queries} queries, k={K}, {args.threads} faiss threads, cpu count {os.cpu_count()}, "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )

    exact = build("exact", table, args.dim)
    reference = exact.faiss_index.search(queries, K)[1]
    hnsw = build(
        "hnsw", table, args.dim, neighbours=args.hnsw_neighbours, ef_construction=args.hnsw_ef_construction
    )
    print(
        f"\nHNSW settings: M={args.hnsw_neighbours}, efConstruction={args.hnsw_ef_construction}, "
        f"efSearch={HNSW_EF_SEARCH} (package defaults: M={HNSW_NEIGHBOURS}, efConstruction={HNSW_EF_CONSTRUCTION}); "
        f"auto threshold now {EXACT_SEARCH_MAX_VECTORS:,} vectors\n"
    )
    print(
        f"| index | build s | index MiB | RSS growth MiB | single query, faiss, 1 thread | single query, faiss, "
        f"{args.threads} threads | single query, StreamIndex.search | batched ms/query | recall@10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows_for_plot = []
    for built in (exact, hnsw):
        faiss_index = built.faiss_index
        if built.kind == "hnsw":
            faiss_index.hnsw.efSearch = HNSW_EF_SEARCH
        one = single_query_ms(lambda q, i=faiss_index: i.search(q[None], K), queries, threads=1)
        raw = single_query_ms(lambda q, i=faiss_index: i.search(q[None], K), queries)
        stream = StreamIndex("music", built.entries, built.kind)
        package = single_query_ms(lambda q, s=stream: s.search(q, K), queries)
        start = time.perf_counter()
        found = faiss_index.search(queries, K)[1]
        batched = (time.perf_counter() - start) * 1000 / len(queries)
        print(
            f"| {built.kind} | {built.seconds:.1f} | {built.index_mib:.0f} | {built.resident_growth_mib:.0f} | "
            f"{summary(one)} | {summary(raw)} | {summary(package)} | {batched:.4f} | {recall_at_k(found, reference):.4f} |"
        )

    print(
        "\nHNSW efSearch sweep (same index):\n\n| efSearch | single query (faiss, 1 thread) | batched ms/query | recall@10 |\n|---|---|---|---|"
    )
    for ef in args.ef_search:
        hnsw.faiss_index.hnsw.efSearch = ef
        raw = single_query_ms(lambda q: hnsw.faiss_index.search(q[None], K), queries, threads=1)
        start = time.perf_counter()
        found = hnsw.faiss_index.search(queries, K)[1]
        batched = (time.perf_counter() - start) * 1000 / len(queries)
        recall = recall_at_k(found, reference)
        rows_for_plot.append(("HNSW", ef, statistics.median(raw), recall))
        print(f"| {ef} | {summary(raw)} | {batched:.4f} | {recall:.4f} |")
    hnsw.faiss_index.hnsw.efSearch = HNSW_EF_SEARCH

    if args.ivf_lists:
        start = time.perf_counter()
        quantizer = faiss.IndexFlatIP(args.dim)
        ivf = faiss.IndexIVFFlat(quantizer, args.dim, args.ivf_lists, faiss.METRIC_INNER_PRODUCT)
        training = library[rng.choice(args.size, size=min(args.size, 64 * args.ivf_lists), replace=False)]
        ivf.train(training)
        ivf.add(library)
        ivf_seconds = time.perf_counter() - start
        ivf_mib = faiss.serialize_index(ivf).nbytes / 2**20
        print(
            f"\nIVF{args.ivf_lists},Flat (not used by the package; for comparison): build {ivf_seconds:.1f} s, "
            f"{ivf_mib:.0f} MiB\n\n| nprobe | single query (faiss, 1 thread) | batched ms/query | recall@10 |\n|---|---|---|---|"
        )
        for nprobe in args.nprobe:
            ivf.nprobe = nprobe
            raw = single_query_ms(lambda q: ivf.search(q[None], K), queries, threads=1)
            start = time.perf_counter()
            found = ivf.search(queries, K)[1]
            batched = (time.perf_counter() - start) * 1000 / len(queries)
            recall = recall_at_k(found, reference)
            rows_for_plot.append(("IVF", nprobe, statistics.median(raw), recall))
            print(f"| {nprobe} | {summary(raw)} | {batched:.4f} | {recall:.4f} |")

    print(f"\nExact search by library size ({args.sweep_queries} single queries each):\n")
    print("| vectors | single query (faiss, 1 thread) |\n|---|---|")
    fastest_enough = None
    for size in sorted(s for s in args.exact_sizes if s <= args.size):
        index = faiss.IndexFlatIP(args.dim)
        index.add(library[:size])
        raw = single_query_ms(
            lambda q, i=index: i.search(q[None], K), queries[: args.sweep_queries], threads=1
        )
        rows_for_plot.append(("exact", size, statistics.median(raw), 1.0))
        print(f"| {size:,} | {summary(raw)} |")
        if statistics.median(raw) <= args.latency_goal_ms:
            fastest_enough = size
    print(
        f"\nLargest measured size with exact single-query median <= {args.latency_goal_ms} ms: "
        f"{'none' if fastest_enough is None else f'{fastest_enough:,}'}"
    )
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.plot:
        _plot(rows_for_plot, args)
        print(f"plot: {args.plot}")
    return 0


def _plot(rows, args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for kind, marker in (("HNSW", "o"), ("IVF", "s")):
        points = [(latency, recall, setting) for k, setting, latency, recall in rows if k == kind]
        if points:
            axis.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=kind)
            for latency, recall, setting in points:
                axis.annotate(
                    str(setting), (latency, recall), textcoords="offset points", xytext=(4, -10), fontsize=7
                )
    exact = [latency for k, size, latency, _ in rows if k == "exact" and size == args.size]
    if exact:
        axis.axvline(exact[0], color="grey", linestyle=":", label=f"exact ({args.size:,})")
    axis.axhline(
        args.recall_goal, color="red", linestyle="--", linewidth=0.8, label=f"recall goal {args.recall_goal}"
    )
    axis.axvline(
        args.latency_goal_ms,
        color="orange",
        linestyle="--",
        linewidth=0.8,
        label=f"{args.latency_goal_ms} ms goal",
    )
    axis.set_xscale("log")
    axis.set_xlabel("single-query latency, median (ms)")
    axis.set_ylabel(f"recall@{K} vs exact")
    axis.set_title(f"{args.size:,} x {args.dim} clustered vectors, {args.threads} threads")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
