"""Configuration of a seed ensemble of EmoMV models."""

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig
from transformers.configuration_utils import PreTrainedConfig, SubConfigSpec

from .configuration_emomv import EmoMVConfig, EmoMVRetrievalConfig, check_range, reject_unknown_fields
from .emotions import MATCH_LABELS

MEMBER_CONFIGS = {config.model_type: config for config in (EmoMVConfig, EmoMVRetrievalConfig)}
"""The configs an ensemble's members may have: the proposed correspondence and retrieval models."""


class EmoMVMemberConfigSpec(SubConfigSpec):
    """`member_config` is an [`EmoMVConfig`] or an [`EmoMVRetrievalConfig`], told apart by its `model_type`.

    Resolved from [`MEMBER_CONFIGS`] rather than `AutoConfig`'s mapping, so a checkpoint loaded with
    `trust_remote_code=True` (where nothing registered the EmoMV model types) builds its members' config too.
    """

    def get_config_class(self, model_type: str | None = None) -> type[PreTrainedConfig]:
        if model_type not in MEMBER_CONFIGS:
            raise ValueError(
                f"`member_config` must be the config of a proposed model (model_type one of "
                f"{sorted(MEMBER_CONFIGS)}), got model_type {model_type!r}."
            )
        return MEMBER_CONFIGS[model_type]


@strict
class EmoMVEnsembleConfig(PreTrainedConfig):
    r"""
    Configuration of [`EmoMVEnsemble`]: `ensemble_size` copies of one proposed model (correspondence or retrieval),
    each with its own weights, whose predictions are averaged.

    Args:
        ensemble_size (`int`, defaults to 5):
            Number of members.
        member_config (`EmoMVConfig` or `EmoMVRetrievalConfig` or `dict`, *optional*):
            The members' configuration (a sub-config, saved nested in config.json); defaults to the paper's
            multi-task correspondence model.

    Example:

    ```python
    >>> from emomv_hf import EmoMVEnsemble, EmoMVEnsembleConfig, EmoMVRetrievalConfig

    >>> config = EmoMVEnsembleConfig(member_config=EmoMVRetrievalConfig(similarity="mix"), ensemble_size=5)
    >>> model = EmoMVEnsemble(config)
    ```"""

    model_type = "emomv_ensemble"
    family = "emomv"
    sub_configs_defaults = {
        "member_config": EmoMVMemberConfigSpec(config_class=AutoConfig, model_type=EmoMVConfig.model_type)
    }

    ensemble_size: int = 5
    member_config: dict | PreTrainedConfig | None = None

    def __post_init__(self, **kwargs):
        reject_unknown_fields(self, kwargs)
        if self.id2label is None:
            self.id2label = dict(enumerate(MATCH_LABELS))
            self.label2id = {name: index for index, name in enumerate(MATCH_LABELS)}
        super().__post_init__(**kwargs)

    @property
    def task(self) -> str:
        return self.member_config.task

    @property
    def multi_task(self) -> bool:
        return self.member_config.multi_task

    def validate_ensemble(self):
        """Part of `@strict` validation: at least one member, and outputs returned as `ModelOutput`s."""
        check_range(self, "a positive integer", ("ensemble_size",))
        check_range(self, "true (the package reads outputs by name)", ("return_dict",))
