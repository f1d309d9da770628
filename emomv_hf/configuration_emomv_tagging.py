"""Configuration of the EmoMV emotion tagger (the paper's "modified Feature AttendAffectNet", sections 3.2-3.3)."""

from typing import ClassVar, Literal

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig

from .configuration_emomv import check_range, reject_unknown_fields
from .emotions import EMOTIONS

NEUTRAL = "neutral"
"""Name of the optional sixth class (MVED's mix of the five emotions); the paper's tagger predicts it, and
segments tagged with it are dropped from the new datasets."""


@strict
class EmoMVTaggingConfig(PreTrainedConfig):
    r"""
    Configuration of [`EmoMVForEmotionTagging`]: Feature AttendAffectNet (Thao et al., Sensors 2021) with a
    classifier over the five EmoMV emotions (and optionally neutral), as the EmoMV paper modified it. Each input
    stream's feature vector is standardised and projected by its own fully connected layer to `hidden_size`; the
    projected vectors are the tokens of a transformer encoder (self-attention across the streams); the encoder
    outputs are averaged and classified. Any non-empty subset of the streams may be given (the agreement filter
    tags each segment from video only, music only and both).

    Args:
        stream_names (`list[str]`, *optional*, defaults to `["video", "music"]`):
            Names of the input streams; stream `s` is the `forward` argument `{s}_features`.
        stream_feature_sizes (`list[int]`, *optional*):
            Feature width of each stream; by default 2304 for `video` (SlowFast R50) and 128 for `music` (VGGish),
            and a stream of another name needs its width here.
        hidden_size (`int`, defaults to 64):
            Common width of the projected streams (the encoder's model width).
        num_attention_heads (`int`, defaults to 4):
            Attention heads of each encoder layer; must divide `hidden_size`.
        num_hidden_layers (`int`, defaults to 1):
            Transformer encoder layers.
        intermediate_size (`int`, defaults to 128):
            Width of each encoder layer's feed-forward block.
        projection_dropout (`float`, defaults to 0.5):
            Dropout on the standardised features, before each stream's projection.
        hidden_dropout (`float`, defaults to 0.1):
            Dropout inside the encoder layers and before the classifier.
        layer_norm_eps (`float`, defaults to 1e-5):
            Epsilon of the encoder's LayerNorms.
        neutral_class (`bool`, defaults to `False`):
            Add a sixth class, `neutral`, after the five emotions (the paper's MVED-trained tagger has it).
        label_smoothing (`float`, defaults to 0.0):
            Label smoothing of the cross-entropy (0: plain cross-entropy, as the paper).
        class_weighting (`str`, defaults to `"none"`):
            `"none"`: plain cross-entropy. `"balanced"`: each class's cross-entropy term is weighted by
            `class_weights` (the weighted mean of `torch.nn.functional.cross_entropy`), so rare emotions count
            as much as frequent ones.
        class_weights (`list[float]`, *optional*):
            One weight per class for `class_weighting="balanced"`; `EmoMVForEmotionTagging.fit_class_weights`
            sets them from the training labels (`N / (num_labels * count)`, scikit-learn's "balanced") and they
            are saved with the config. `None`: not fitted yet (then every weight is 1).
        stream_heads (`bool`, defaults to `False`):
            Give each stream its own classifier for the prediction from that stream alone; the prediction from
            several streams keeps the shared classifier. `False`: one classifier for every subset.
        stream_subset_loss (`bool`, defaults to `True`):
            With labels and several streams given, the loss is the mean cross-entropy of the prediction from all
            given streams and of the prediction from each stream alone, so one model tags from any subset.
        standardization_eps (`float`, defaults to 1e-8):
            A fitted feature standard deviation below this is replaced by 1.
        initializer_range (`float`, *optional*):
            `None` (default): linear layers are initialised as PyTorch does; a float draws weights from
            N(0, initializer_range) with zero biases.

    Example:

    ```python
    >>> from emomv_hf import EmoMVForEmotionTagging, EmoMVTaggingConfig

    >>> model = EmoMVForEmotionTagging(EmoMVTaggingConfig(neutral_class=True))
    >>> model.config.id2label[5]
    'neutral'
    ```"""

    model_type = "emomv_tagging"
    task: ClassVar[str] = "tagging"
    family: ClassVar[str] = "emomv"

    stream_names: list[str] | None = None
    stream_feature_sizes: list[int] | None = None
    hidden_size: int = 64
    num_attention_heads: int = 4
    num_hidden_layers: int = 1
    intermediate_size: int = 128
    projection_dropout: int | float = 0.5
    hidden_dropout: int | float = 0.1
    layer_norm_eps: int | float = 1e-5
    neutral_class: bool = False
    label_smoothing: int | float = 0.0
    class_weighting: Literal["none", "balanced"] = "none"
    class_weights: list[float] | None = None
    stream_heads: bool = False
    stream_subset_loss: bool = True
    standardization_eps: int | float = 1e-8
    initializer_range: int | float | None = None

    def __post_init__(self, **kwargs):
        reject_unknown_fields(self, kwargs)
        if self.stream_names is None:
            self.stream_names = ["video", "music"]
        if self.stream_feature_sizes is None:
            # By name, so a music-only or music-first tagger gets VGGish's width; other streams have no default.
            widths = {"video": 2304, "music": 128}
            self.stream_feature_sizes = [widths[name] for name in self.stream_names if name in widths]
        names = self.class_names
        self.id2label = dict(enumerate(names))
        self.label2id = {name: index for index, name in enumerate(names)}
        super().__post_init__(**kwargs)

    @property
    def class_names(self) -> list[str]:
        """The five EmoMV emotions in class-index order, then `neutral` when `neutral_class`."""
        return [*EMOTIONS, *([NEUTRAL] if self.neutral_class else [])]

    @property
    def neutral_index(self) -> int | None:
        """Class index of `neutral`, or None without the neutral class."""
        return len(EMOTIONS) if self.neutral_class else None

    @property
    def input_modes(self) -> dict[str, tuple[str, ...]]:
        """What a tagger predicts from: each stream alone (``video``, ``music``, ...), then ``joint``, all streams
        together; mode → the `forward` feature arguments it passes."""
        alone = {name: (f"{name}_features",) for name in self.stream_names}
        return {**alone, "joint": tuple(f"{name}_features" for name in self.stream_names)}

    def validate_tagger(self):
        """Part of `@strict` validation: streams, widths, heads and dropouts."""
        if not self.stream_names or len(set(self.stream_names)) != len(self.stream_names):
            raise ValueError(f"`stream_names` must be distinct names, got {self.stream_names}.")
        bad = [name for name in self.stream_names if not name.isidentifier()]
        if bad:
            raise ValueError(f"`stream_names` must be Python identifiers (they name arguments), got {bad}.")
        if len(self.stream_feature_sizes) != len(self.stream_names) or any(
            size < 1 for size in self.stream_feature_sizes
        ):
            raise ValueError(
                f"`stream_feature_sizes` must give a positive width for each of {self.stream_names}, got "
                f"{self.stream_feature_sizes}."
            )
        sizes = ("hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size")
        check_range(self, "a positive integer", sizes)
        check_range(self, "true (the package reads outputs by name)", ("return_dict",))
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"`num_attention_heads` ({self.num_attention_heads}) must divide `hidden_size` ({self.hidden_size})."
            )
        check_range(self, "in [0, 1)", ("projection_dropout", "hidden_dropout", "label_smoothing"))
        check_range(self, "a positive finite number", ("layer_norm_eps", "standardization_eps"))
        if self.initializer_range is not None:  # transformers would take 0 for its default, 0.02
            check_range(self, "a positive finite number", ("initializer_range",))
        if self.class_weights is not None and (
            len(self.class_weights) != self.num_labels or any(not weight > 0 for weight in self.class_weights)
        ):
            raise ValueError(
                f"`class_weights` must give a positive weight for each of the {self.num_labels} classes, got "
                f"{self.class_weights}."
            )
