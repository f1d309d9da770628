"""Training: arguments, tensor data, the early-stopping loop, and the end-to-end run."""

from emomv_hf.training.arguments import EmoMVTrainingArguments
from emomv_hf.training.loop import EarlyStopping, TrainingOutcome, train_model
from emomv_hf.training.pipeline import RunResult, build_model, make_accelerator, run_training
from emomv_hf.training.protocols import PROTOCOLS

__all__ = [
    "PROTOCOLS",
    "EarlyStopping",
    "EmoMVTrainingArguments",
    "RunResult",
    "TrainingOutcome",
    "build_model",
    "make_accelerator",
    "run_training",
    "train_model",
]
