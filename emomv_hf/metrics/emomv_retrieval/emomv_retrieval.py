"""EmoMV retrieval metric as an `evaluate` module (see `_DESCRIPTION`). The maths is
`emomv_hf.metrics.functional.retrieval_metrics`, so this module and the plain function always agree."""

import datasets
import evaluate
import numpy as np

import emomv_hf.metrics.functional as F
from emomv_hf.citation import BIBTEX

_CITATION = BIBTEX + "\n"  # one source for the citation: emomv_hf/citation.py

_DESCRIPTION = """\
Metrics of EmoMV affective music-video retrieval (paper section 6.2.1): a gallery item is relevant to a
query when both carry the same emotion label. Top-K accuracy is the fraction of queries with at least
one relevant item among the first K; mAP is the mean over queries of the average precision (the mean,
over all relevant items, of the precision at each relevant item's rank). Instance metrics of the query's
true counterpart: Recall@K (counterpart among the first K) and the median 1-based rank.

Examples are *queries*: a prediction is one row of the similarity matrix (the query's score for every
gallery item) and its reference the query's emotion label; the gallery's labels are a `compute` keyword
argument. Rows may be added batch by batch, each with one score per gallery item. With `both_directions=True`
the rows are the full (videos x music) matrix, the references the video labels and `gallery_labels` the music
labels; music -> video uses the transpose. Ties are broken pessimistically: in top-K and mAP every irrelevant
item ranks before the relevant items it ties with; the counterpart ranks after every item it ties with.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): one row per query, the similarity to every gallery item
        (higher = more similar).
    references (`list` of `int`): the emotion label of each query.
    gallery_labels (`list` of `int`, required, compute only): the emotion label of each gallery item.
    ks (`list` of `int`, optional): cut-offs of the top-K accuracy, default (1, 3, 5).
    recall_ks (`list` of `int`, optional): cut-offs of the counterpart Recall@K, default (1, 5, 10).
    counterpart (`list` of `int`, optional): gallery index of each query's true counterpart; default the
        identity when there are as many queries as gallery items (else no instance metrics); `False`
        switches the instance metrics off.
    both_directions (`bool`, optional): also compute gallery -> query retrieval on the transpose; keys
        are then prefixed `video_to_music/` and `music_to_video/`.
    music_counterpart (`list` of `int`, optional, with both_directions): query index of each gallery
        item's counterpart; default the inverse of `counterpart`.
Returns:
    top1_accuracy, top3_accuracy, top5_accuracy, map (`float`, queries without relevant items left out
    with a warning), and recall@1, recall@5, recall@10, median_rank when a counterpart is known.
Examples:
    >>> from emomv_hf.metrics import RETRIEVAL_METRIC_PATH
    >>> metric = evaluate.load(RETRIEVAL_METRIC_PATH)
    >>> similarity = [[0.9, 0.1, 0.3], [0.2, 0.8, 0.1], [0.4, 0.3, 0.5]]  # video rows x music columns
    >>> metric.compute(predictions=similarity, references=[0, 1, 2], gallery_labels=[0, 1, 2])
    {'top1_accuracy': 1.0, 'top3_accuracy': 1.0, 'top5_accuracy': 1.0, 'map': 1.0,
     'recall@1': 1.0, 'recall@5': 1.0, 'recall@10': 1.0, 'median_rank': 1.0}
"""


def _check_counterpart(name, counterpart, num_queries, num_gallery):
    if counterpart is None or counterpart is False:
        return
    indices = np.asarray(counterpart)
    if indices.shape != (num_queries,):
        raise ValueError(f"{name} must have one entry per query ({num_queries}), got shape {indices.shape}")
    if not np.issubdtype(indices.dtype, np.integer) or np.any(indices < 0) or np.any(indices >= num_gallery):
        raise ValueError(f"{name} indices must be whole numbers in [0, {num_gallery})")


def _check_inputs(similarity, gallery_labels, ks, recall_ks, counterpart, music_counterpart):
    """Raw user input is checked here, once; the plain functions trust what they get."""
    if gallery_labels is None:
        raise ValueError("gallery_labels is required: the emotion label of every gallery item")
    lengths = {len(row) for row in similarity}
    if len(lengths) > 1:
        raise ValueError(
            f"every similarity row needs one score per gallery item; got row lengths {sorted(lengths)}"
        )
    scores = np.asarray(similarity, dtype=np.float64)
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(
            f"predictions must be a non-empty (queries, gallery) matrix, got shape {scores.shape}"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("predictions (similarity scores) must be finite (found NaN or infinity)")
    num_queries, num_gallery = scores.shape
    if len(gallery_labels) != num_gallery:
        raise ValueError(
            f"similarity rows have {num_gallery} scores but there are {len(gallery_labels)} gallery labels"
        )
    for name, cutoffs in (("ks", ks), ("recall_ks", recall_ks)):  # recall@0 would report 0 for any model
        if any(int(k) < 1 for k in cutoffs):
            raise ValueError(f"{name} must be positive, got {list(cutoffs)}")
    _check_counterpart("counterpart", counterpart, num_queries, num_gallery)
    _check_counterpart("music_counterpart", music_counterpart, num_gallery, num_queries)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EmomvRetrieval(evaluate.Metric):
    """Top-K accuracy, mAP, Recall@K and median rank of emotion-based music-video retrieval."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float64")),
                    "references": datasets.Value("int64"),
                }
            ),
            reference_urls=["https://doi.org/10.1016/j.inffus.2022.10.002"],
        )

    def _compute(
        self,
        predictions,
        references,
        gallery_labels=None,
        ks=F.DEFAULT_KS,
        recall_ks=F.DEFAULT_RECALL_KS,
        counterpart=None,
        both_directions=False,
        music_counterpart=None,
    ):
        _check_inputs(predictions, gallery_labels, ks, recall_ks, counterpart, music_counterpart)
        if both_directions:
            return F.retrieval_metrics_both_directions(
                predictions,
                references,
                gallery_labels,
                ks=ks,
                recall_ks=recall_ks,
                counterpart=counterpart,
                music_counterpart=music_counterpart,
            )
        if music_counterpart is not None:
            raise ValueError("music_counterpart only applies with both_directions=True")
        return F.retrieval_metrics(
            predictions, references, gallery_labels, ks=ks, recall_ks=recall_ks, counterpart=counterpart
        )
