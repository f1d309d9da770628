"""emomv-hf: the EmoMV datasets, models and training on the Hugging Face stack."""

__version__ = "0.1.0"
