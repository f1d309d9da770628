"""EmoMV model configuration (correspondence classification and retrieval, paper sections 5.1 and 6.1)."""

import dataclasses
import difflib
from typing import ClassVar, Literal

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig

from .emotions import EMOTIONS, MATCH_LABELS, NUM_EMOTIONS

# Keys that a saved config.json holds besides the fields (`PreTrainedConfig` properties are allowed too).
_SERIALIZATION_KEYS = {"auto_map", "model_type", "transformers_version", "architectures", "torch_dtype"}


def reject_unknown_fields(config: PreTrainedConfig, kwargs: dict) -> None:
    """Raise `ValueError` for keyword arguments that are no field of `config` (with a "did you mean"): a typo in
    config.json (`multi_taks`) would otherwise become a silent extra attribute, and a class attribute (`task`,
    `family`) or property of `config`'s class one the instance overrides (or fails to set)."""
    fields = sorted(field.name for field in dataclasses.fields(config))  # `ClassVar`s are no fields
    unknown = sorted(
        key
        for key in kwargs
        if key not in _SERIALIZATION_KEYS
        and not key.startswith("_")
        and key not in fields
        and not hasattr(PreTrainedConfig, key)
    )
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, fields, n=1)
            hints.append(f"`{key}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
        raise ValueError(f"{type(config).__name__} got unknown field(s) {', '.join(hints)}.")


# Each test is `not (in range)`: NaN fails every comparison, so it is out of every range.
_OUT_OF_RANGE = {
    "a positive integer": lambda value: not value >= 1,
    "a positive finite number": lambda value: not 0 < value < float("inf"),
    "a non-negative finite number": lambda value: not 0 <= value < float("inf"),
    "in [0, 1)": lambda value: not 0.0 <= value < 1.0,
    "in [0, 1]": lambda value: not 0.0 <= value <= 1.0,
    "true (the package reads outputs by name)": lambda value: value is not True,  # `return_dict`
    "a seed torch takes, in [-2**63, 2**64)": lambda value: not -(2**63) <= value < 2**64,
}


def check_range(config: PreTrainedConfig, expected: str, names: tuple[str, ...]) -> None:
    """Part of `@strict` validation: raise `ValueError` for the first of the fields `names` whose value is not
    `expected` (a key of `_OUT_OF_RANGE`)."""
    for name in names:
        if _OUT_OF_RANGE[expected](getattr(config, name)):
            raise ValueError(f"`{name}` must be {expected}, got {getattr(config, name)}.")


@strict
class EmoMVBaseConfig(PreTrainedConfig):
    r"""
    Fields shared by every EmoMV model (the proposed models and the baseline): feature widths, the emotion
    classes, the multi-task switch, the loss weights and the initialisation. Not a model of its own; use
    [`EmoMVConfig`], [`EmoMVRetrievalConfig`], [`EmoMVBaselineConfig`] or [`EmoMVBaselineRetrievalConfig`].

    Args:
        video_feature_size (`int`, defaults to 2304):
            Width of a video feature vector (SlowFast R50: 2048 slow + 256 fast pathway channels).
        music_feature_size (`int`, defaults to 128):
            Width of a music feature vector (VGGish embedding averaged over 0.96 s frames).
        num_emotions (`int`, defaults to 5):
            Number of emotion classes of the emotion heads.
        emotion_names (`list[str]`, *optional*):
            Names of the emotion classes, in class-index order; defaults to the EmoMV taxonomy.
        multi_task (`bool`, defaults to `True`):
            Whether the model has the per-stream emotion heads and their losses (the paper's multi-task model).
            `False` is the single-task ablation: no emotion heads, emotion labels are ignored.
        contrastive_margin (`float`, defaults to 1.0):
            Margin of the contrastive loss on the pair distance (retrieval models and the baseline).
        match_loss_weight (`float`, defaults to 1.0):
            Weight of the matched/mismatched loss (cross-entropy, or contrastive).
        video_emotion_loss_weight, music_emotion_loss_weight (`float`, defaults to 1.0):
            Weights of the per-stream emotion cross-entropies (multi-task only).
        standardization_eps (`float`, defaults to 1e-8):
            A fitted feature standard deviation below this is replaced by 1 (constant features are only centred).
        initializer_range (`float`, *optional*):
            `None` (default) initialises linear layers like PyTorch (and the authors' code) do: uniform
            Kaiming weights and biases. A float instead draws weights from N(0, initializer_range) with zero biases.
    """

    task: ClassVar[str]
    """`"correspondence"` or `"retrieval"`: what the model built from this config does."""
    family: ClassVar[str]
    """`"emomv"` (the paper's proposed model) or `"baseline"` (modified Li & Kumar 2019)."""
    _positive_sizes: ClassVar[tuple[str, ...]] = ()
    """Architecture widths (besides the feature sizes) that `validate_architecture` requires to be positive."""

    video_feature_size: int = 2304
    music_feature_size: int = 128
    num_emotions: int = NUM_EMOTIONS
    emotion_names: list[str] | None = None
    multi_task: bool = True
    contrastive_margin: int | float = 1.0
    match_loss_weight: int | float = 1.0
    video_emotion_loss_weight: int | float = 1.0
    music_emotion_loss_weight: int | float = 1.0
    standardization_eps: int | float = 1e-8
    initializer_range: int | float | None = None

    def __post_init__(self, **kwargs):
        reject_unknown_fields(self, kwargs)
        if self.emotion_names is None and self.num_emotions == NUM_EMOTIONS:
            self.emotion_names = list(EMOTIONS)
        if self.id2label is None:
            self.id2label = dict(enumerate(MATCH_LABELS))
            self.label2id = {name: index for index, name in enumerate(MATCH_LABELS)}
        super().__post_init__(**kwargs)

    def validate_architecture(self):
        """Part of `@strict` validation: sizes, margins and weights must make sense."""
        sizes = ("video_feature_size", "music_feature_size", "num_emotions", *self._positive_sizes)
        check_range(self, "a positive integer", sizes)
        check_range(self, "true (the package reads outputs by name)", ("return_dict",))
        if self.emotion_names is not None and len(self.emotion_names) != self.num_emotions:
            raise ValueError(
                f"`emotion_names` has {len(self.emotion_names)} names but `num_emotions` is {self.num_emotions}."
            )
        check_range(self, "a positive finite number", ("contrastive_margin", "standardization_eps"))
        if self.initializer_range is not None:  # transformers would take 0 for its default, 0.02
            check_range(self, "a positive finite number", ("initializer_range",))
        weights = ("match_loss_weight", "video_emotion_loss_weight", "music_emotion_loss_weight")
        check_range(self, "a non-negative finite number", weights)


@strict
class EmoMVTowersConfig(EmoMVBaseConfig):
    r"""
    The two towers of the proposed models, shared by [`EmoMVRetrievalConfig`] and [`EmoMVConfig`]; not a model
    of its own. Each stream's feature vector is standardised, reduced by one linear layer, and projected by a
    residual projection head into a common L2-normalised space. Fields of [`EmoMVBaseConfig`], and:

    Args:
        reduced_size (`int`, defaults to 64):
            Width of the dimensionality-reduction layer of each stream.
        projection_size (`int`, defaults to 64):
            Width of the projection head layers, i.e. of the common embedding space.
        projection_dropout (`float`, defaults to 0.5):
            Dropout inside the projection head.
        projection_layer_norm (`bool`, defaults to `True`):
            Add a LayerNorm before the last GELU of the projection head (the authors' released retrieval code).
        layer_norm_eps (`float`, defaults to 1e-5):
            Epsilon of that LayerNorm.
        emotion_head_input (`str`, defaults to `"reduced"`):
            What the emotion heads read: `"reduced"`, the 64-d output of the reduction layer (the paper's text),
            or `"embedding"`, the L2-normalised projection-head output (the authors' released code).
    """

    family = "emomv"
    _positive_sizes = ("reduced_size", "projection_size")

    reduced_size: int = 64
    projection_size: int = 64
    projection_dropout: int | float = 0.5
    projection_layer_norm: bool = True
    layer_norm_eps: int | float = 1e-5
    emotion_head_input: Literal["reduced", "embedding"] = "reduced"

    def validate_towers(self):
        """Part of `@strict` validation: the projection head's residual and dropout."""
        if self.reduced_size != self.projection_size:
            raise ValueError(
                "`reduced_size` must equal `projection_size`: the projection head adds its first layer's output "
                f"to a residual of that width (got {self.reduced_size} and {self.projection_size})."
            )
        check_range(self, "in [0, 1)", ("projection_dropout",))
        check_range(self, "a positive finite number", ("layer_norm_eps",))


@strict
class EmoMVRetrievalConfig(EmoMVTowersConfig):
    r"""
    Configuration of [`EmoMVForRetrieval`] (paper section 6.1). `EmoMVRetrievalConfig()` is the paper's multi-task
    retrieval model with the authors' released code's `projection_layer_norm=True`. Fields of
    [`EmoMVTowersConfig`], and:

    Args:
        similarity (`str`, defaults to `"cosine"`):
            How [`EmoMVForRetrieval`] scores a (video, music) pair: `"cosine"`, the cosine of the two embeddings
            (the paper); `"emotion"`, the dot product of the two streams' predicted emotion distributions
            (multi-task only); `"mix"`, `(1 - w) * cosine + w * emotion` with `w = emotion_similarity_weight`.
            Training is the same for all three; only ranking changes.
        emotion_similarity_weight (`float`, defaults to 0.5):
            The weight `w` of the emotion term of `similarity="mix"`, in [0, 1].
        supervised_contrastive_weight (`float`, defaults to 0.0):
            Weight of an extra in-batch supervised-contrastive loss (multi-task only): every video of the batch is
            pulled towards the batch's music segments of its emotion and pushed from the others, and back.
            0 is the paper's model.
        supervised_contrastive_temperature (`float`, defaults to 0.3):
            Temperature of that loss's softmax over the batch's cosine similarities.

    Retrieval models are not calibrated (no temperature fields): `similarity="emotion"` and `"mix"` rank by the
    softmax of the emotion logits, and a temperature on them would change those rankings.
    """

    model_type = "emomv_retrieval"
    task = "retrieval"

    similarity: Literal["cosine", "emotion", "mix"] = "cosine"
    emotion_similarity_weight: int | float = 0.5
    supervised_contrastive_weight: int | float = 0.0
    supervised_contrastive_temperature: int | float = 0.3

    def validate_retrieval_options(self):
        """Part of `@strict` validation: the emotion-aware similarity and the supervised-contrastive loss need
        the emotion heads."""
        check_range(self, "in [0, 1]", ("emotion_similarity_weight",))
        check_range(self, "a non-negative finite number", ("supervised_contrastive_weight",))
        check_range(self, "a positive finite number", ("supervised_contrastive_temperature",))
        if not self.multi_task:
            if self.similarity != "cosine":
                raise ValueError(
                    f"`similarity={self.similarity!r}` ranks by the predicted emotions, which a single-task model "
                    "(`multi_task=False`) does not have; use `similarity='cosine'`."
                )
            if self.supervised_contrastive_weight > 0:
                raise ValueError(
                    "`supervised_contrastive_weight` needs the emotion labels a multi-task model trains with; "
                    "a single-task model (`multi_task=False`) ignores them."
                )


@strict
class EmoMVConfig(EmoMVTowersConfig):
    r"""
    Configuration of [`EmoMVForCorrespondence`] (paper section 5.1). `EmoMVConfig()` with no argument is the
    paper's multi-task correspondence classifier (about 174k parameters): the towers of [`EmoMVTowersConfig`]
    (without the projection LayerNorm, as in the paper), whose two embeddings are fused by multimodal compact
    bilinear (MCB) pooling followed by a two-layer classifier. Fields of [`EmoMVTowersConfig`], and:

    Args:
        mcb_output_size (`int`, defaults to 32):
            Output width of the compact bilinear pooling (the authors' code uses 32).
        mcb_seed (`int`, defaults to 0):
            Seed of the count-sketch hash indices and signs. The hashes are also stored as buffers in the
            checkpoint, so a saved model reloads identically whatever this value.
        fusion_hidden_size (`int`, defaults to 32):
            Width of the fully connected layer after the fusion.
        match_temperature (`float`, defaults to 1.0):
            Temperature scaling of the matched/mismatched head: `forward`'s `logits` are the classifier's scores
            divided by it, so every consumer's softmax is calibrated. 1.0 is the uncalibrated model; training with
            `--calibrate` fits it by NLL on the early-stopping pairs (`emomv_hf.training.calibration`). A
            temperature changes neither the argmax nor the ranking of P(matched): accuracy and ROC-AUC stay.
        video_emotion_temperature, music_emotion_temperature (`float`, defaults to 1.0):
            The same for each stream's emotion head (multi-task): one each, since the two heads are separate
            classifiers of different accuracy (music emotion is the easier one), so their over-confidence differs.

    Example:

    ```python
    >>> import emomv_hf
    >>> from emomv_hf import EmoMVConfig, EmoMVForCorrespondence

    >>> config = EmoMVConfig(multi_task=False)  # single-task ablation
    >>> model = EmoMVForCorrespondence(config)
    ```"""

    model_type = "emomv"
    task = "correspondence"
    _positive_sizes = ("reduced_size", "projection_size", "mcb_output_size", "fusion_hidden_size")

    projection_layer_norm: bool = False
    mcb_output_size: int = 32
    mcb_seed: int = 0
    fusion_hidden_size: int = 32
    match_temperature: int | float = 1.0
    video_emotion_temperature: int | float = 1.0
    music_emotion_temperature: int | float = 1.0

    def validate_head(self):
        """Part of `@strict` validation: a temperature divides logits, so it must be a positive finite number; the
        compact bilinear pooling's hashes are drawn from a torch generator."""
        temperatures = ("match_temperature", "video_emotion_temperature", "music_emotion_temperature")
        check_range(self, "a positive finite number", temperatures)
        check_range(self, "a seed torch takes, in [-2**63, 2**64)", ("mcb_seed",))
