"""The one mapping from (model family, task) to classes, and building a model of the paper's configuration.

Registration with the transformers Auto classes happens in the root package (`import emomv_hf`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub.errors import StrictDataclassError
from transformers import (
    AutoConfig,
    AutoModel,
    PretrainedConfig,
    PreTrainedModel,
)

from .configuration_emomv_ensemble import EmoMVEnsembleConfig
from .io_utils import looks_like_local_path
from .modeling_emomv import EmoMVCompactBilinearPooling, EmoMVForCorrespondence, EmoMVForRetrieval
from .modeling_emomv_baseline import EmoMVBaselineForCorrespondence, EmoMVBaselineForRetrieval
from .modeling_emomv_tagging import EmoMVForEmotionTagging

MODEL_CLASSES: dict[tuple[str, str], type[PreTrainedModel]] = {
    (model_class.config_class.family, model_class.config_class.task): model_class
    for model_class in (
        EmoMVForCorrespondence,
        EmoMVForRetrieval,
        EmoMVBaselineForCorrespondence,
        EmoMVBaselineForRetrieval,
        EmoMVForEmotionTagging,
    )
}
"""(family, task) → model class; each class's `config_class` carries its `family` and `task`."""

MODEL_FAMILIES = ("emomv", "baseline")
PAPER_TASKS = ("correspondence", "retrieval")
"""The tasks of the paper's results tables (Tables 8-13), which `reproduce_paper.py` runs."""
TASKS = (*PAPER_TASKS, "tagging")
"""Every task a model is trained for; `tagging` is the emotion tagger that labels new datasets (sections 3.2-3.3)."""


def model_class_for(family: str, task: str) -> type[PreTrainedModel]:
    """The model class of a family (`emomv` or `baseline`) and task (`correspondence`, `retrieval` or `tagging`,
    the emotion tagger of the new datasets; `emomv` only)."""
    try:
        return MODEL_CLASSES[(family, task)]
    except KeyError:
        raise ValueError(
            f"unknown model/task {family!r}/{task!r}; expected one of {sorted(MODEL_CLASSES)}"
        ) from None


def parse_config_overrides(family: str, task: str, overrides: str | None) -> dict[str, Any]:
    """``"similarity=mix,supervised_contrastive_weight=1.0"`` → typed config fields of the (family, task) model.

    Values are converted to each field's type by `PretrainedConfig.update_from_string`; an unknown field, or a
    value the field cannot take, raises `ValueError` naming it.
    """
    if not overrides:
        return {}
    config_class = model_class_for(family, task).config_class
    items = [item.strip() for item in overrides.split(",") if item.strip()]
    malformed = [item for item in items if "=" not in item]
    if malformed:
        raise ValueError(f"{malformed[0]!r} is not FIELD=VALUE (overrides are 'field=value,field=value')")
    names = [item.split("=", 1)[0] for item in items]
    for name in ("family", "task", "model_type", "multi_task"):
        if name in names:
            raise ValueError(f"`{name}` is chosen by --model, --task and --single-task, not by an override")
    config = config_class()
    try:
        config.update_from_string(",".join(items))
    except (ValueError, TypeError, StrictDataclassError) as error:
        raise ValueError(f"{config_class.__name__}: {error}") from None
    return {name: getattr(config, name) for name in names}


def build_config(family: str, task: str, multi_task: bool = True, **config_overrides) -> PretrainedConfig:
    """The paper's configuration of the (family, task) model, with ``config_overrides`` (config fields, e.g.
    ``similarity="mix"``) applied and validated by the config class."""
    config_class = model_class_for(family, task).config_class
    if "multi_task" in config_class.__dataclass_fields__:
        config_overrides["multi_task"] = multi_task
    elif not multi_task:  # the tagger has no emotion-head switch
        raise ValueError(f"the {task} model has no single-task variant")
    return config_class(**config_overrides)


def build_model(family: str, task: str, multi_task: bool = True, **config_overrides) -> PreTrainedModel:
    """A freshly initialised model of `build_config`'s configuration (multi- or single-task variant)."""
    return model_class_for(family, task)(build_config(family, task, multi_task, **config_overrides))


def load_model(model_name_or_path: str) -> PreTrainedModel:
    """`AutoModel.from_pretrained`, with one-line errors for what a hand-edited or damaged folder holds: a
    missing local folder (`FileNotFoundError`), and (`ValueError`, naming the file) a folder of another model (an
    extractor checkpoint, any transformers model), a ``config.json`` field of the wrong type or value, weights of
    other shapes than the configuration makes, missing from it or from the checkpoint, NaN / infinite weights, or
    a standardiser's standard deviation <= 0. (A ``config.json`` that is not JSON already gets transformers'
    one-line `OSError` naming it.)"""
    from transformers.utils import logging as transformers_logging

    if looks_like_local_path(model_name_or_path) and not Path(model_name_or_path).is_dir():
        raise FileNotFoundError(f"--model: the model folder {model_name_or_path} does not exist")
    config_file = f"{model_name_or_path}/config.json"
    # Mismatched shapes are reported below in one line: transformers would log a table of them first.
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        try:  # a bad field, an ensemble's member config's included (a plain ValueError there), named in one line
            config = AutoConfig.from_pretrained(model_name_or_path)
        except (StrictDataclassError, ValueError) as error:
            reason = " ".join(str(error.__cause__ or error).split())  # the field and what it must be
            raise ValueError(f"{config_file}: {reason}") from None
        emomv_configs = (EmoMVEnsembleConfig, *(cls.config_class for cls in MODEL_CLASSES.values()))
        if not isinstance(config, emomv_configs):
            raise ValueError(
                f"{config_file}: model_type {config.model_type!r} is not an EmoMV model (one of "
                f"{sorted(cls.model_type for cls in emomv_configs)}, as train.py writes)"
            )
        model, loading_info = AutoModel.from_pretrained(
            model_name_or_path, config=config, ignore_mismatched_sizes=True, output_loading_info=True
        )
    finally:
        transformers_logging.set_verbosity(verbosity)
    mismatched = sorted(loading_info["mismatched_keys"])
    if mismatched:
        name, saved, expected = mismatched[0]
        raise ValueError(
            f"{model_name_or_path}: weight {name} has shape {tuple(saved)}, but {config_file} makes it "
            f"{tuple(expected)} ({len(mismatched)} tensor(s) differ): the configuration does not belong to the "
            "weights (an edited feature or projection size?)"
        )
    # transformers initialises a missing tensor at random and drops an unexpected one, and only logs them; the MCB
    # hashes alone may be missing: they are rebuilt exactly from `mcb_seed`.
    missing = sorted(
        key for key in loading_info["missing_keys"] if not key.endswith(("_hash_index", "_hash_sign"))
    )
    unexpected = sorted(loading_info["unexpected_keys"])
    for keys, what in ((missing, "is missing from the checkpoint"), (unexpected, "is not in the model")):
        if keys:
            raise ValueError(
                f"{model_name_or_path}: weight {keys[0]} {what} ({len(keys)} tensor(s)) that {config_file} makes: "
                "the configuration does not belong to the weights (an edited ensemble_size or multi_task?) or "
                "the weights file is damaged"
            )
    for name, module in model.named_modules():  # an index past the pooling's output fails only in forward
        if isinstance(module, EmoMVCompactBilinearPooling):
            for stream in ("first", "second"):
                index = getattr(module, f"{stream}_hash_index")
                if index.numel() and (index.min() < 0 or index.max() >= module.output_size):
                    raise ValueError(
                        f"{model_name_or_path}: weight {name}.{stream}_hash_index holds indices outside "
                        f"[0, {module.output_size}) (mcb_output_size)"
                    )
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
            raise ValueError(f"{model_name_or_path}: weight {name} holds NaN or infinite values")
        if "standardizer." in name and name.endswith("_std") and not bool((tensor > 0).all()):
            raise ValueError(
                f"{model_name_or_path}: weight {name} holds values <= 0 (standard deviations that divide)"
            )
    return model
