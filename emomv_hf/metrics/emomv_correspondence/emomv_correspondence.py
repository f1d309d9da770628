"""EmoMV correspondence metric as an `evaluate` module (see `_DESCRIPTION`). The maths is
`emomv_hf.metrics.functional.correspondence_metrics`, so this module and the plain function always agree."""

import datasets
import evaluate
import numpy as np

import emomv_hf.metrics.functional as F
from emomv_hf.citation import BIBTEX

_CITATION = BIBTEX + "\n"  # one source for the citation: emomv_hf/citation.py

_DESCRIPTION = """\
Metrics of the EmoMV affective music-video correspondence task (is a music-video pair matched in
emotion?): accuracy, F1 of the matched class (label 1), ROC-AUC of P(matched); with the "multitask"
configuration also the accuracy and macro-F1 of the per-stream emotion predictions (five classes:
exciting, fearful, tense, sad, relaxing). All values are fractions in [0, 1].
"""

_KWARGS_DESCRIPTION = """
Args:
    references (`list` of `int`): ground truth per pair, 1 = matched, 0 = mismatched.
    prediction_scores (`list` of `float`): P(matched) per pair (used for ROC-AUC and, thresholded, for
        the hard predictions).
    video_emotion_references, video_emotion_predictions, music_emotion_references,
    music_emotion_predictions (`list` of `int`): only in the "multitask" configuration
        (`evaluate.load(path, "multitask")`): emotion class of each stream of each pair, true and predicted.
    predictions (`list` of `int`, optional, compute only): hard 0/1 predictions; default
        `prediction_scores >= threshold`.
    threshold (`float`, optional, compute only): decision threshold, default 0.5 (a score of exactly 0.5 is
        matched, as everywhere in emomv_hf: `emomv_hf.metrics.functional.predict_matched`).
    video_emotion_labels, video_emotion_predictions, music_emotion_labels, music_emotion_predictions
        (optional, compute keyword arguments in the default configuration): per-stream emotion classes,
        when they are not per-pair features (e.g. emotions of retrieval segments).
Returns:
    accuracy (`float`), f1 (`float`), roc_auc (`float`, NaN with a warning if only one class is present),
    and video_emotion_accuracy, video_emotion_macro_f1, music_emotion_accuracy, music_emotion_macro_f1
    when emotion inputs are given.
Examples:
    >>> from emomv_hf.metrics import CORRESPONDENCE_METRIC_PATH
    >>> metric = evaluate.load(CORRESPONDENCE_METRIC_PATH)
    >>> metric.compute(references=[1, 0, 1, 0], prediction_scores=[0.9, 0.2, 0.4, 0.6])
    {'accuracy': 0.5, 'f1': 0.5, 'roc_auc': 0.75}
    >>> metric = evaluate.load(CORRESPONDENCE_METRIC_PATH, "multitask")
    >>> metric.compute(references=[1, 0], prediction_scores=[0.8, 0.3],
    ...                video_emotion_references=[0, 1], video_emotion_predictions=[0, 1],
    ...                music_emotion_references=[0, 4], music_emotion_predictions=[0, 3])
"""

_EMOTION_FEATURES = (
    "video_emotion_references",
    "video_emotion_predictions",
    "music_emotion_references",
    "music_emotion_predictions",
)


def _check_inputs(references, prediction_scores, hard_predictions, emotion_pairs):
    """Raw user input is checked here, once; the plain functions trust what they get."""
    lengths = {"references": len(references), "prediction_scores": len(prediction_scores)}
    if hard_predictions is not None:
        lengths["predictions"] = len(hard_predictions)
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must have the same length, got {lengths}")
    if not lengths["references"]:
        raise ValueError("cannot compute metrics on zero examples")
    if not np.all(np.isfinite(np.asarray(prediction_scores, dtype=np.float64))):
        raise ValueError("prediction_scores must be finite (found NaN or infinity)")
    for name, values in (("references", references), ("predictions", hard_predictions)):
        if values is not None and not np.isin(values, (0, 1)).all():
            raise ValueError(f"{name} must be 0 (mismatched) or 1 (matched)")
    for stream, labels, predictions in emotion_pairs:
        if labels is not None and predictions is not None and len(labels) != len(predictions):
            raise ValueError(
                f"{stream}_emotion_labels and {stream}_emotion_predictions must have the same length, "
                f"got {len(labels)} and {len(predictions)}"
            )


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EmomvCorrespondence(evaluate.Metric):
    """Accuracy, F1 and ROC-AUC of matched / mismatched predictions (configurations: default, multitask)."""

    def _info(self):
        if self.config_name not in ("default", "multitask"):
            raise ValueError(f"unknown configuration {self.config_name!r}: use 'default' or 'multitask'")
        features = {
            "references": datasets.Value("int64"),
            "prediction_scores": datasets.Value("float64"),
        }
        if self.config_name == "multitask":
            features.update({name: datasets.Value("int64") for name in _EMOTION_FEATURES})
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(features),
            reference_urls=["https://doi.org/10.1016/j.inffus.2022.10.002"],
        )

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Compute the metrics; `predictions` (optional hard 0/1 labels) is a compute-time argument."""
        if predictions is not None:
            kwargs["hard_predictions"] = predictions
        return super().compute(references=references, **kwargs)

    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of pairs: `references`, `prediction_scores` (+ emotion features if multitask)."""
        if predictions is not None:
            raise ValueError(
                "hard predictions are not accumulated: pass prediction_scores (and threshold to compute)"
            )
        return super().add_batch(references=references, **kwargs)

    def _compute(
        self,
        references,
        prediction_scores,
        video_emotion_references=None,
        video_emotion_predictions=None,
        music_emotion_references=None,
        music_emotion_predictions=None,
        hard_predictions=None,
        threshold=F.MATCH_THRESHOLD,
        video_emotion_labels=None,
        music_emotion_labels=None,
    ):
        if video_emotion_labels is None:
            video_emotion_labels = video_emotion_references
        if music_emotion_labels is None:
            music_emotion_labels = music_emotion_references
        emotion_pairs = (
            ("video", video_emotion_labels, video_emotion_predictions),
            ("music", music_emotion_labels, music_emotion_predictions),
        )
        _check_inputs(references, prediction_scores, hard_predictions, emotion_pairs)
        return F.correspondence_metrics(
            references,
            prediction_scores,
            hard_predictions,
            video_emotion_labels=video_emotion_labels,
            video_emotion_predictions=video_emotion_predictions,
            music_emotion_labels=music_emotion_labels,
            music_emotion_predictions=music_emotion_predictions,
            threshold=threshold,
        )
