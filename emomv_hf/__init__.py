"""emomv-hf: the EmoMV datasets, models and training on the Hugging Face stack."""

import gc as _gc


def _register_auto_classes() -> None:
    """Register every config with `AutoConfig` and every model with `AutoModel`, the extractors' processors with
    `AutoFeatureExtractor` / `AutoVideoProcessor` / `AutoProcessor`, and the ``music-video-retrieval`` pipeline.

    Every class is also marked for `register_for_auto_class`, so a saved checkpoint's `config.json` carries an
    `auto_map` and its folder holds the model code: pushed to the Hub it loads with `trust_remote_code=True` for
    people who have not installed `emomv_hf`.
    """
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor, AutoVideoProcessor

    from .features.feature_extraction_vggish import VGGishFeatureExtractor
    from .features.modeling_slowfast import SlowFastModel
    from .features.modeling_vggish import VGGishModel
    from .features.processing_emomv import EmoMVProcessor
    from .features.video_processing_slowfast import SlowFastVideoProcessor
    from .recommendation.pipeline import register_pipeline

    for model_class in (*MODEL_CLASSES.values(), EmoMVEnsemble, VGGishModel, SlowFastModel):
        config_class = model_class.config_class
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModel")
    AutoFeatureExtractor.register(VGGishModel.config_class, VGGishFeatureExtractor, exist_ok=True)
    AutoVideoProcessor.register(SlowFastModel.config_class, SlowFastVideoProcessor, exist_ok=True)
    # Each extractor checkpoint carries both streams' processor.
    for model_class in (VGGishModel, SlowFastModel):
        AutoProcessor.register(model_class.config_class, EmoMVProcessor, exist_ok=True)
    register_pipeline()


# Importing torch, transformers and the models makes about half a million objects that live as long as the process;
# the cyclic collector would walk them over and over while they load (about 1 s here). It pauses, they go straight
# to the oldest generation (freeze + unfreeze), and it resumes; unless someone froze objects (unfreeze thaws all).
_pause_collector = _gc.isenabled() and not _gc.get_freeze_count()
if _pause_collector:
    _gc.disable()
try:
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
    from .models_registry import MODEL_CLASSES, build_config, build_model, model_class_for

    _register_auto_classes()
finally:
    if _pause_collector:
        _gc.freeze()
        _gc.unfreeze()
        _gc.enable()

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
