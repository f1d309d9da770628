"""Register the EmoMV configs and models with the transformers Auto classes.

Importing `emomv_hf` runs `register()`: afterwards `AutoConfig` / `AutoModel.from_pretrained(path)` resolve the
four model types to their classes, and every class is marked for `register_for_auto_class`, so a saved
checkpoint's `config.json` carries an `auto_map` and its folder holds the model code: pushed to the Hub it loads
with `trust_remote_code=True` for people who have not installed `emomv_hf`.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel

from .configuration_emomv import EmoMVConfig, EmoMVRetrievalConfig
from .configuration_emomv_baseline import EmoMVBaselineConfig, EmoMVBaselineRetrievalConfig
from .modeling_emomv import EmoMVForCorrespondence, EmoMVForRetrieval
from .modeling_emomv_baseline import EmoMVBaselineForCorrespondence, EmoMVBaselineForRetrieval

MODEL_CLASSES = {
    EmoMVConfig: EmoMVForCorrespondence,
    EmoMVRetrievalConfig: EmoMVForRetrieval,
    EmoMVBaselineConfig: EmoMVBaselineForCorrespondence,
    EmoMVBaselineRetrievalConfig: EmoMVBaselineForRetrieval,
}
"""Each config class (one `model_type` per head) and the model class `AutoModel` builds from it."""

_registered = False


def register() -> None:
    """Register every config with `AutoConfig` and every model with `AutoModel` (idempotent)."""
    global _registered
    if _registered:
        return
    for config_class, model_class in MODEL_CLASSES.items():
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModel")
    _registered = True


register()

__all__ = ["MODEL_CLASSES", "register"]
