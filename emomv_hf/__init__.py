"""emomv-hf: the EmoMV datasets, models and training on the Hugging Face stack."""

from ._version import __version__
from .configuration_emomv import (
    EmoMVBaseConfig,
    EmoMVConfig,
    EmoMVRetrievalConfig,
    EmoMVTowersConfig,
)
from .configuration_emomv_baseline import EmoMVBaselineConfig, EmoMVBaselineRetrievalConfig
from .configuration_emomv_ensemble import EmoMVEnsembleConfig
from .configuration_emomv_tagging import EmoMVTaggingConfig
from .modeling_emomv import (
    EmoMVCorrespondenceOutput,
    EmoMVForCorrespondence,
    EmoMVForRetrieval,
    EmoMVModelOutput,
    EmoMVPreTrainedModel,
    EmoMVRetrievalOutput,
)
from .modeling_emomv_baseline import (
    EmoMVBaselineCorrespondenceOutput,
    EmoMVBaselineForCorrespondence,
    EmoMVBaselineForRetrieval,
    EmoMVBaselinePreTrainedModel,
    EmoMVBaselineRetrievalOutput,
)
from .modeling_emomv_ensemble import EmoMVEnsemble
from .modeling_emomv_tagging import EmoMVForEmotionTagging, EmoMVTaggingOutput
from .models_registry import build_config, build_model, model_class_for

__all__ = [
    "__version__",
    "build_config",
    "build_model",
    "model_class_for",
    "EmoMVBaseConfig",
    "EmoMVBaselineConfig",
    "EmoMVBaselineCorrespondenceOutput",
    "EmoMVBaselineForCorrespondence",
    "EmoMVBaselineForRetrieval",
    "EmoMVBaselinePreTrainedModel",
    "EmoMVBaselineRetrievalConfig",
    "EmoMVBaselineRetrievalOutput",
    "EmoMVConfig",
    "EmoMVCorrespondenceOutput",
    "EmoMVEnsemble",
    "EmoMVEnsembleConfig",
    "EmoMVForEmotionTagging",
    "EmoMVForCorrespondence",
    "EmoMVForRetrieval",
    "EmoMVModelOutput",
    "EmoMVPreTrainedModel",
    "EmoMVRetrievalConfig",
    "EmoMVTowersConfig",
    "EmoMVRetrievalOutput",
    "EmoMVTaggingConfig",
    "EmoMVTaggingOutput",
]
