"""Training: arguments, tensor data, the early-stopping loop, and the end-to-end run."""

from emomv_hf.training.arguments import EmoMVTrainingArguments
from emomv_hf.training.loop import EarlyStopping, train_model
from emomv_hf.training.pipeline import make_accelerator, run_training

__all__ = ["EarlyStopping", "EmoMVTrainingArguments", "make_accelerator", "run_training", "train_model"]
