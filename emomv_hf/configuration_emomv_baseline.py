"""Configuration of the EmoMV paper's baseline (modified Li & Kumar 2019, paper section 5.2)."""

from huggingface_hub.dataclasses import strict
from transformers.configuration_utils import PreTrainedConfig

from .emotions import EMOTIONS, MATCH_LABELS, NUM_EMOTIONS


@strict
class EmoMVBaselineConfig(PreTrainedConfig):
    r"""
    Configuration of [`EmoMVBaselineForCorrespondence`]: the paper's baseline, Li & Kumar's "Query by Video"
    model (ISMIR 2019) modified as in EmoMV section 5.2 and trained in two stages.

    - Video and music subnetworks: fully connected layers, each followed by ReLU, on the standardised SlowFast /
      VGGish features (the paper replaces Li & Kumar's I3D and convolutional music front ends by these features).
      The emotion output layer (multi-task) reads the last hidden layer; it is trained with softmax cross-entropy
      as in the paper's stage 1 (Li & Kumar's sigmoid output is not used).
    - Cross-modal distance subnetwork: per stream two fully connected layers (ReLU between them) into a common
      space, L2 normalisation, Euclidean distance, contrastive loss on that distance.
    - Stage 2: a logistic regression on the distance classifies matched / mismatched; it is stored in the model
      (see `EmoMVBaselineForCorrespondence.fit_distance_classifier`).

    The paper gives no layer widths for the modified model. Our choice, documented here and fixed by the defaults,
    gives the baseline the proposed model's widths, so the two are compared at equal capacity: video tower
    2304 → 64 → 64, music tower 128 → 64 → 64, common space 64 → 64 → 64 (the EmoMV embedding width), no dropout
    (Li & Kumar use none). Wider towers are a config change (`video_hidden_sizes=[256, 128]` etc.).

    Args:
        video_feature_size (`int`, defaults to 2304): width of a video (SlowFast) feature vector.
        music_feature_size (`int`, defaults to 128): width of a music (VGGish) feature vector.
        video_hidden_sizes (`list[int]`, *optional*, defaults to `[64, 64]`): video tower widths.
        music_hidden_sizes (`list[int]`, *optional*, defaults to `[64, 64]`): music tower widths.
        common_size (`int`, defaults to 64): width of the common (embedding) space.
        dropout (`float`, defaults to 0.0): dropout after every tower layer.
        num_emotions (`int`, defaults to 5): number of emotion classes.
        emotion_names (`list[str]`, *optional*): emotion class names, defaults to the EmoMV taxonomy.
        multi_task (`bool`, defaults to `True`): emotion heads and their losses on (the paper's multi-task
            baseline) or off (single-task ablation).
        contrastive_margin (`float`, defaults to 1.0): margin of the contrastive loss on the Euclidean distance
            between the unit-norm embeddings (distances lie in [0, 2]).
        match_loss_weight, video_emotion_loss_weight, music_emotion_loss_weight (`float`, default 1.0): loss weights.
        similarity_eps (`float`, defaults to 1e-6): retrieval similarity is `1 / (distance + similarity_eps)`.
        standardization_eps (`float`, defaults to 1e-8): std floor of the feature standardisation.
        initializer_range (`float`, *optional*): `None` = PyTorch default init of linear layers, else N(0, std).
    """

    model_type = "emomv_baseline"

    video_feature_size: int = 2304
    music_feature_size: int = 128
    video_hidden_sizes: list[int] | None = None
    music_hidden_sizes: list[int] | None = None
    common_size: int = 64
    dropout: int | float = 0.0
    num_emotions: int = NUM_EMOTIONS
    emotion_names: list[str] | None = None
    multi_task: bool = True
    contrastive_margin: int | float = 1.0
    match_loss_weight: int | float = 1.0
    video_emotion_loss_weight: int | float = 1.0
    music_emotion_loss_weight: int | float = 1.0
    similarity_eps: int | float = 1e-6
    standardization_eps: int | float = 1e-8
    initializer_range: int | float | None = None

    def __post_init__(self, **kwargs):
        if self.video_hidden_sizes is None:
            self.video_hidden_sizes = [64, 64]
        if self.music_hidden_sizes is None:
            self.music_hidden_sizes = [64, 64]
        if self.emotion_names is None and self.num_emotions == NUM_EMOTIONS:
            self.emotion_names = list(EMOTIONS)
        if self.id2label is None:
            self.id2label = dict(enumerate(MATCH_LABELS))
            self.label2id = {name: index for index, name in enumerate(MATCH_LABELS)}
        super().__post_init__(**kwargs)

    def validate_architecture(self):
        """Part of `@strict` validation."""
        for name in ("video_feature_size", "music_feature_size", "common_size", "num_emotions"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {getattr(self, name)}.")
        for name in ("video_hidden_sizes", "music_hidden_sizes"):
            sizes = getattr(self, name)
            if sizes is not None and (not sizes or any(size < 1 for size in sizes)):
                raise ValueError(f"`{name}` must be a non-empty list of positive widths, got {sizes}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout}.")
        if self.emotion_names is not None and len(self.emotion_names) != self.num_emotions:
            raise ValueError(
                f"`emotion_names` has {len(self.emotion_names)} names but `num_emotions` is {self.num_emotions}."
            )
        if self.contrastive_margin <= 0:
            raise ValueError(f"`contrastive_margin` must be positive, got {self.contrastive_margin}.")
        if self.similarity_eps <= 0:
            raise ValueError(f"`similarity_eps` must be positive, got {self.similarity_eps}.")
        for name in ("match_loss_weight", "video_emotion_loss_weight", "music_emotion_loss_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be non-negative, got {getattr(self, name)}.")


@strict
class EmoMVBaselineRetrievalConfig(EmoMVBaselineConfig):
    r"""
    Configuration of [`EmoMVBaselineForRetrieval`]: the same network as [`EmoMVBaselineConfig`] (same defaults);
    a separate class (and `model_type`) so that `AutoModel` returns the retrieval head for a retrieval checkpoint.
    """

    model_type = "emomv_baseline_retrieval"


__all__ = ["EmoMVBaselineConfig", "EmoMVBaselineRetrievalConfig"]
