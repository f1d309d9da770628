"""Model and dataset cards for the Hub, filled from the templates in ``templates/`` with huggingface_hub's
``ModelCard.from_template`` / ``DatasetCard.from_template``."""

from .dataset_card import card_yaml, make_dataset_card, mismatch_matrix_table
from .model_card import eval_results_for_card, make_extractor_card, make_model_card

__all__ = [
    "card_yaml",
    "eval_results_for_card",
    "make_dataset_card",
    "make_extractor_card",
    "make_model_card",
    "mismatch_matrix_table",
]
