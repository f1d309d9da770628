"""Temperature scaling (Guo et al., 2017) of a trained correspondence model, fitted on its early-stopping pairs.

One scalar per head divides the logits (`EmoMVConfig.match_temperature`, `video_emotion_temperature`,
`music_emotion_temperature`); it is the minimiser of the negative log-likelihood of the pairs that stopped
training, which the protocols keep apart from the reported split (``paper`` on a dataset without a test split
stops on the reported split itself: no calibration then). Under ``cv`` the model is refitted on its whole outer
training fold, early-stopping pairs included, so the temperatures come from the early-stopped model, which never
trained on them, and are given to the refitted one (same initialisation, same number of epochs).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch

from emomv_hf.modeling_emomv import EmoMVForCorrespondence

if TYPE_CHECKING:
    from emomv_hf.data.tensors import TensorPairs
    from emomv_hf.training.arguments import EmoMVTrainingArguments
    from emomv_hf.training.protocols import TrainingSplits

LOG_TEMPERATURE_BOUNDS = (math.log(0.05), math.log(20.0))
"""The search interval of log T: from sharpening 20 times to flattening 20 times."""


def fit_temperature(logits: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray) -> float:
    """The temperature T > 0 minimising the mean negative log-likelihood of `labels` `(N,)` under
    `softmax(logits / T)`, `logits` `(N, C)`: a bounded 1-D search over log T (the NLL is smooth in it), in
    float64."""
    from scipy.optimize import minimize_scalar

    logits = torch.as_tensor(logits).detach().to("cpu", torch.float64)
    labels = torch.as_tensor(labels).detach().to("cpu", torch.long)

    def nll(log_temperature: float) -> float:
        scaled = logits / math.exp(log_temperature)
        return float(torch.nn.functional.cross_entropy(scaled, labels))

    found = minimize_scalar(nll, bounds=LOG_TEMPERATURE_BOUNDS, method="bounded", options={"xatol": 1e-6})
    return math.exp(found.x)


@torch.no_grad()
def fit_temperatures(model: EmoMVForCorrespondence, data: TensorPairs) -> dict[str, float]:
    """`model`'s temperature fields refitted on `data` (its labels, and its emotion labels for a multi-task
    model): each new T is the current one times the T fitted on the current logits. Leaves it in eval mode."""
    model.eval()
    inputs = data.inputs
    outputs = model(video_features=inputs["video_features"], music_features=inputs["music_features"])
    config = model.config
    heads = {"match_temperature": (outputs.logits, inputs["labels"])}
    if config.multi_task:
        for stream in ("video", "music"):
            heads[f"{stream}_emotion_temperature"] = (
                outputs[f"{stream}_emotion_logits"],
                inputs[f"{stream}_emotion_labels"],
            )
    return {name: getattr(config, name) * fit_temperature(*head) for name, head in heads.items()}


def run_temperatures(
    model: torch.nn.Module, splits: TrainingSplits, args: EmoMVTrainingArguments
) -> dict[str, float]:
    """What `--calibrate` sets on a run's model after early stopping: the temperatures fitted on the pairs that
    stopped it (`splits.stopping`). Empty (the model stays uncalibrated) with `--no-calibrate`, for models other
    than the proposed correspondence classifier (retrieval: see [`EmoMVRetrievalConfig`]; the tagger: its
    agreement filter reads the argmax, which a temperature does not change; the baseline: its logits are a
    logistic regression fitted afterwards), and when the early-stopping split is the reported one."""
    if not args.calibrate or type(model) is not EmoMVForCorrespondence:
        return {}
    if splits.report_pairs is None and splits.stopping_name == splits.report_split:
        warnings.warn(
            f"--calibrate: not calibrating, the early-stopping split ({splits.stopping_name}) is the reported "
            "split; use --protocol held-out or cv for calibrated probabilities",
            UserWarning,
            stacklevel=2,
        )
        return {}
    return fit_temperatures(model, splits.stopping)


def ece_sampling_floor(probabilities: np.ndarray, num_pairs: int, draws: int = 1000, seed: int = 0) -> float:
    """The mean 10-bin ECE of a perfectly calibrated model on ``num_pairs`` pairs: each draw takes
    ``num_pairs`` values of P(matched) from ``probabilities`` `(N,)` (a model's predictions, with replacement)
    and draws each label as Bernoulli(P(matched)), so every gap between confidence and accuracy is sampling
    noise alone. An ECE measured on that many pairs cannot be expected to go below it."""
    from emomv_hf.metrics.functional import expected_calibration_error

    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        drawn = rng.choice(np.asarray(probabilities, dtype=np.float64), num_pairs)
        labels = (rng.random(num_pairs) < drawn).astype(np.int64)
        values.append(expected_calibration_error(labels, drawn))
    return float(np.mean(values))
