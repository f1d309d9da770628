"""The cv protocol: source-grouped folds, the nested epoch budget, and its reported test fold."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emomv_hf.data.loading import load_emomv
from emomv_hf.data.schema import segments_from_pairs, source_video_id
from emomv_hf.training import EmoMVTrainingArguments, make_accelerator, run_training
from emomv_hf.training.protocols import (
    cv_folds,
    grouped_holdout_indices,
    grouped_kfold_indices,
    protocol_splits,
)


def _sources(video_ids, music_ids, rows) -> set[str]:
    return {source_video_id(video_ids[i]) for i in rows} | {source_video_id(music_ids[i]) for i in rows}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 9), st.integers(0, 30), st.integers(0, 9)),
        min_size=12,
        max_size=120,
    ),
    st.integers(2, 6),
    st.integers(0, 2**31),
)
def test_no_source_video_is_in_two_folds(pairs, folds, seed):
    video_ids = [f"video{source}_{segment:02d}" for source, segment, _, _ in pairs]
    # A matched pair is one segment's own streams; a mismatched pair links two sources.
    music_ids = [
        video if index % 3 else f"video{source}_{segment:02d}"
        for index, (video, (_, _, source, segment)) in enumerate(zip(video_ids, pairs, strict=True))
    ]
    groups = len({source_video_id(video) for video in video_ids} | {source_video_id(m) for m in music_ids})
    try:
        labels = [index % 2 for index in range(len(pairs))]
        splits = grouped_kfold_indices(video_ids, music_ids, labels, folds, seed)
    except ValueError as error:
        assert "source-video groups" in str(error)
        return
    assert groups >= folds
    tests = [set(test.tolist()) for _, test in splits]
    assert sorted(i for test in tests for i in test) == list(range(len(pairs)))  # a partition
    for train, test in splits:
        assert set(train.tolist()) | set(test.tolist()) == set(range(len(pairs)))
        assert not _sources(video_ids, music_ids, train) & _sources(video_ids, music_ids, test)
    test_sources = [_sources(video_ids, music_ids, test) for test in tests]
    for i in range(len(tests)):
        for j in range(i + 1, len(tests)):
            assert not test_sources[i] & test_sources[j]


def test_cv_folds_of_emomv_c_are_grouped_balanced_and_repeat_with_other_seeds(emomv_c_dir):
    pairs = load_emomv(str(emomv_c_dir), "pairs")
    args = EmoMVTrainingArguments(dataset=str(emomv_c_dir), protocol="cv")
    folds = [protocol_splits(pairs, replace(args, seed=seed)) for seed in range(10)]
    sizes = [len(split.report_pairs) for split in folds[:5]]
    assert sum(sizes) == len(pairs["train"]) + len(pairs["validation"]) == 456
    assert max(sizes) - min(sizes) <= 6, sizes
    assert all(0.45 <= np.mean(split.report_pairs["label"]) <= 0.55 for split in folds), "stratified"
    first, second = (
        [sorted(split.report_pairs["pair_id"]) for split in folds[start : start + 5]] for start in (0, 5)
    )
    assert first != second  # repetition 1 deals the groups differently
    for split in folds:
        test = split.report_pairs
        test_sources = {
            source_video_id(i) for i in list(test["video_segment_id"]) + list(test["music_segment_id"])
        }
        assert len(split.refit) + len(test) == 456 and len(split.train) + len(split.stopping) == len(
            split.refit
        )
        assert split.report_split.startswith("cv-fold-")
        segments = segments_from_pairs(test)
        assert len(segments) > 0 and {source_video_id(s) for s in segments["segment_id"]} <= test_sources


def test_cv_run_retrains_on_the_outer_fold_for_the_chosen_budget(emomv_c_dir):
    args = EmoMVTrainingArguments(
        dataset=str(emomv_c_dir),
        protocol="cv",
        seed=3,
        max_epochs=12,
        patience=4,
        progress=False,
        plots=False,
    )
    result = run_training(args, make_accelerator(args, cpu=True), save=False)
    assert result.report.eval_split == "pairs/cv-fold-3-of-5-repetition-0"
    # The refit runs exactly best_epoch + 1 epochs and reports on the outer test fold's pairs.
    assert result.outcome.epochs_run == result.outcome.best_epoch + 1 <= 12
    assert len(result.report.predictions["predictions"]) == len(result.report_pairs)
    assert np.isfinite(result.metrics["accuracy"]) and result.eval_results()["protocol"] == "cv"
    retrieval = replace(args, task="retrieval")
    result = run_training(retrieval, make_accelerator(retrieval, cpu=True), save=False)
    assert result.report.eval_split == "segments/cv-fold-3-of-5-repetition-0"
    assert len(result.report.predictions["labels"]) == len(segments_from_pairs(result.report_pairs))


def test_cv_stopping_slice_is_drawn_with_the_run_seed(emomv_c_dir):
    """Seed s early-stops on the grouped slice drawn with seed s inside its outer training fold (README), so
    the seeds of one repetition do not share one slice draw."""
    pairs = load_emomv(str(emomv_c_dir), "pairs")
    args = EmoMVTrainingArguments(dataset=str(emomv_c_dir), protocol="cv")
    pooled, folds = cv_folds(pairs, args.cv_folds, 0)
    for seed in (1, 3):
        split = protocol_splits(pairs, replace(args, seed=seed))
        outer_train = pooled.select(folds[seed][0])
        _, held_out = grouped_holdout_indices(
            outer_train["video_segment_id"], outer_train["music_segment_id"], args.held_out_fraction, seed
        )
        expected = split.refit.select(held_out).inputs
        for name, column in split.stopping.inputs.items():
            assert torch.equal(column, expected[name]), name
