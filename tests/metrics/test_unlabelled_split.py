"""An evaluated split whose rows have no label (datasets' -1, as in a Hub dataset's unlabelled test split) is
refused in one line naming the split and column: -1 scored as a class gave a retrieval model top-K accuracy and mAP
of 1 (every unlabelled item relevant to every unlabelled query) and a correspondence model scikit-learn's
'Target is multiclass' error."""

from __future__ import annotations

import pytest
import torch

from emomv_hf.configuration_emomv import EmoMVConfig, EmoMVRetrievalConfig
from emomv_hf.data.loading import load_emomv
from emomv_hf.evaluation import evaluate
from emomv_hf.modeling_emomv import EmoMVForCorrespondence, EmoMVForRetrieval


@pytest.mark.parametrize(
    ("model", "config", "column"),  # config: of the rows; the message names the task's (eval_split's)
    [
        (lambda: EmoMVForCorrespondence(EmoMVConfig()), "pairs", "label"),
        # labelled pairs whose emotions are not: a multi-task model's emotion metrics read them
        (lambda: EmoMVForCorrespondence(EmoMVConfig()), "pairs", "music_emotion"),
        (lambda: EmoMVForRetrieval(EmoMVRetrievalConfig()), "segments", "emotion"),
        (
            lambda: EmoMVForRetrieval(EmoMVRetrievalConfig()),
            "pairs",
            "video_emotion",
        ),  # a retrieval model scored on a pairs split's segments
    ],
)
def test_an_unlabelled_split_is_refused_naming_it(emomv_c_dir, model, config, column):
    torch.manual_seed(0)
    model = model()
    rows = load_emomv(str(emomv_c_dir), config)["validation"]
    unlabelled = rows.map(lambda row, index: {column: -1 if index < 10 else row[column]}, with_indices=True)
    evaluate(model, rows, "validation")  # the labelled split is scored
    name = "pairs" if isinstance(model, EmoMVForCorrespondence) else "segments"
    with pytest.raises(ValueError, match=rf"^{name}/test: 10 of {len(rows)} rows have no {column} \(-1\)"):
        evaluate(model, unlabelled, "test")


def test_a_single_task_model_scores_pairs_whose_emotions_are_unlabelled(emomv_c_dir):
    # Its metrics read the labels only: pairs with matched/mismatched labels and no emotions are a fine test split.
    torch.manual_seed(0)
    model = EmoMVForCorrespondence(EmoMVConfig(multi_task=False))
    rows = load_emomv(str(emomv_c_dir), "pairs")["validation"]
    unlabelled = rows.map(lambda row: {"video_emotion": -1, "music_emotion": -1})
    assert evaluate(model, unlabelled, "test").metrics == evaluate(model, rows, "validation").metrics
