"""ECE and Brier score against brute-force computations written independently of the package's."""

from __future__ import annotations

import numpy as np
import pytest

from emomv_hf.metrics.functional import brier_score, calibration_metrics, expected_calibration_error


def _brute_force_ece(labels, probabilities, num_bins=10):
    """Loop over bins (lo, hi] (the first one [0, hi]) and over rows, in plain Python."""
    rows = []
    for label, row in zip(labels, probabilities, strict=True):
        row = [1 - row, row] if np.ndim(row) == 0 else list(row)
        predicted = max(range(len(row)), key=lambda c: (row[c], -c))  # the first maximum, as argmax
        rows.append((row[predicted], predicted == label))
    total = 0.0
    for b in range(num_bins):
        lo, hi = b / num_bins, (b + 1) / num_bins
        members = [(c, ok) for c, ok in rows if (lo < c <= hi) or (b == 0 and c == 0.0)]
        if members:
            accuracy = sum(ok for _, ok in members) / len(members)
            confidence = sum(c for c, _ in members) / len(members)
            total += len(members) / len(rows) * abs(accuracy - confidence)
    return total


def _brute_force_brier(labels, probabilities):
    total = 0.0
    for label, row in zip(labels, probabilities, strict=True):
        if np.ndim(row) == 0:
            total += (row - label) ** 2
        else:
            total += sum((p - (c == label)) ** 2 for c, p in enumerate(row))
    return total / len(labels)


@pytest.mark.parametrize("seed", range(5))
def test_binary_ece_and_brier_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    scores = rng.uniform(size=200)
    scores[:20] = rng.choice([0.0, 0.3, 0.5, 0.7, 0.9, 1.0], size=20)  # values on bin edges, and a tie at 0.5
    labels = rng.integers(0, 2, size=200)
    assert expected_calibration_error(labels, scores) == pytest.approx(
        _brute_force_ece(labels, scores), abs=1e-12
    )
    assert brier_score(labels, scores) == pytest.approx(_brute_force_brier(labels, scores), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_multiclass_ece_and_brier_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.full(5, 0.5), size=150)
    labels = rng.integers(0, 5, size=150)
    assert expected_calibration_error(labels, probabilities) == pytest.approx(
        _brute_force_ece(labels, probabilities), abs=1e-12
    )
    assert brier_score(labels, probabilities) == pytest.approx(
        _brute_force_brier(labels, probabilities), abs=1e-12
    )


def test_known_values():
    # Every pair predicted matched with 0.8 and right 3 times in 4: one bin, |0.75 - 0.8| = 0.05.
    assert expected_calibration_error([1, 1, 1, 0], [0.8] * 4) == pytest.approx(0.05)
    assert brier_score([1, 1, 1, 0], [0.8] * 4) == pytest.approx((3 * 0.04 + 0.64) / 4)
    # Perfect, certain predictions.
    assert calibration_metrics("x_", [0, 1], [0.0, 1.0]) == {"x_ece": 0.0, "x_brier": 0.0}
