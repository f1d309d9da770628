"""PyTorch model of the EmoMV paper's baseline: Li & Kumar (2019) "Query by Video", modified as in section 5.2.

Two fully connected towers with emotion heads, a common L2-normalised space, the Euclidean distance between the
two embeddings and a contrastive loss (stage 1); a logistic regression on that distance classifies matched /
mismatched pairs (stage 2, [`EmoMVBaselineForCorrespondence.fit_distance_classifier`]). For retrieval the
similarity of a pair is `1 / distance` (paper equation 3).
"""

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init

from .configuration_emomv_baseline import EmoMVBaselineConfig, EmoMVBaselineRetrievalConfig
from .modeling_emomv import (
    EmoMVCorrespondenceOutput,
    EmoMVPreTrainedModel,
    EmoMVRetrievalMixin,
    EmoMVRetrievalOutput,
    contrastive_loss,
)

_DISTANCE_EPS = 1e-12  # inside the square root, so the gradient of the distance stays finite at 0


def euclidean_distance(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Row-wise Euclidean distance of `(B, D)` and `(B, D)` → `(B,)`, with a finite gradient at 0."""
    return (first - second).pow(2).sum(dim=-1).clamp_min(_DISTANCE_EPS).sqrt()


def pairwise_euclidean_distance(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """All-pairs Euclidean distance of `(N, D)` and `(M, D)` → `(N, M)`."""
    squared = (
        first.pow(2).sum(-1, keepdim=True) + second.pow(2).sum(-1).unsqueeze(0) - 2.0 * first @ second.t()
    )
    return squared.clamp_min(_DISTANCE_EPS).sqrt()


@dataclass
class EmoMVBaselineCorrespondenceOutput(EmoMVCorrespondenceOutput):
    r"""
    Output of [`EmoMVBaselineForCorrespondence`]: the fields of [`EmoMVCorrespondenceOutput`], where `logits` come
    from the stage-2 logistic regression on `distance` and `loss` is the stage-1 loss (contrastive on `distance`
    plus, multi-task, the emotion cross-entropies), and:

    Args:
        distance (`torch.FloatTensor` of shape `(B,)`): Euclidean distance of the unit-norm embeddings of pair i.
    """

    distance: torch.FloatTensor | None = None


@dataclass
class EmoMVBaselineRetrievalOutput(EmoMVRetrievalOutput):
    r"""
    Output of [`EmoMVBaselineForRetrieval`]: the fields of [`EmoMVRetrievalOutput`] with `similarity` and
    `logits_per_video` equal to `1 / (euclidean distance + similarity_eps)`, and:

    Args:
        distance (`torch.FloatTensor` of shape `(B,)`): Euclidean distance of the unit-norm embeddings of pair i.
    """

    distance: torch.FloatTensor | None = None


class EmoMVBaselineEncoder(nn.Module):
    """
    One stream (`"video"` or `"music"`) of the baseline: fully connected tower (Linear → ReLU [→ Dropout] per
    layer), the emotion output layer on the tower output (multi-task), and the common-space projection
    Linear → ReLU → Linear → L2-normalise.
    """

    def __init__(self, config: EmoMVBaselineConfig, stream: str):
        super().__init__()
        layers: list[nn.Module] = []
        width = getattr(config, f"{stream}_feature_size")
        for size in getattr(config, f"{stream}_hidden_sizes"):
            layers += [nn.Linear(width, size), nn.ReLU()]
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            width = size
        self.tower = nn.Sequential(*layers)
        self.emotion_head = nn.Linear(width, config.num_emotions) if config.multi_task else None
        self.common_projection = nn.Sequential(
            nn.Linear(width, config.common_size), nn.ReLU(), nn.Linear(config.common_size, config.common_size)
        )

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`(B, feature_size)` → (unit-norm embeddings `(B, common_size)`, emotion logits or None)."""
        hidden = self.tower(features)
        emotion_logits = self.emotion_head(hidden) if self.emotion_head is not None else None
        return F.normalize(self.common_projection(hidden), p=2, dim=-1), emotion_logits


class EmoMVDistanceClassifier(nn.Module):
    """
    Stage-2 logistic regression on the distance: `P(matched) = sigmoid(weight * distance + bias)`, as logits
    `(B, 2) = [0, weight * distance + bias]`. Weight and bias are buffers (not trained by the stage-1 optimiser,
    saved in the checkpoint). Before fitting they are `weight = -1`, `bias = margin / 2`: matched exactly when the
    distance is below half the contrastive margin, the point the stage-1 loss pushes the two classes apart from.
    """

    def __init__(self, margin: float):
        super().__init__()
        self.initial_bias = float(margin) / 2.0
        self.register_buffer("weight", torch.full((1,), -1.0))
        self.register_buffer("bias", torch.full((1,), self.initial_bias))

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        matched_logit = distance * self.weight.to(distance.dtype) + self.bias.to(distance.dtype)
        return torch.stack([torch.zeros_like(matched_logit), matched_logit], dim=-1)


class EmoMVBaselinePreTrainedModel(EmoMVPreTrainedModel):
    """Base class of the baseline models: the baseline's towers and the stage-1 contrastive loss on the distance."""

    config_class = EmoMVBaselineConfig
    config: EmoMVBaselineConfig
    base_model_prefix = "emomv_baseline"
    encoder_class = EmoMVBaselineEncoder

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, EmoMVDistanceClassifier):
            init.constant_(module.weight, -1.0)
            init.constant_(module.bias, module.initial_bias)

    def _distance_and_loss(self, video_embeds, music_embeds, labels):
        distance = euclidean_distance(video_embeds, music_embeds)
        loss = None if labels is None else contrastive_loss(distance, labels, self.config.contrastive_margin)
        return distance, loss


class EmoMVBaselineForCorrespondence(EmoMVBaselinePreTrainedModel):
    """
    The paper's baseline for correspondence classification. `loss` is the stage-1 loss (contrastive on the
    Euclidean distance + emotion cross-entropies when multi-task); `logits` come from the stage-2 logistic
    regression on the distance, which [`fit_distance_classifier`] fits after stage 1 and which is saved with the
    model. Until then `logits` use the documented initial values (`weight = -1`, `bias = margin / 2`).
    """

    output_class = EmoMVBaselineCorrespondenceOutput

    def __init__(self, config: EmoMVBaselineConfig):
        super().__init__(config)
        self.distance_classifier = EmoMVDistanceClassifier(config.contrastive_margin)
        self.post_init()

    def _head_outputs(self, video_embeds, music_embeds, labels, emotion_logits, emotion_labels):
        distance, loss = self._distance_and_loss(video_embeds, music_embeds, labels)
        return {"distance": distance, "logits": self.distance_classifier(distance)}, loss, None

    @torch.no_grad()
    def fit_distance_classifier(self, video_features: Any, music_features: Any, labels: Any) -> None:
        """
        Stage 2: fit the logistic regression `P(matched) = sigmoid(w * d + b)` on the Euclidean distance `d` of the
        embeddings of the given pairs (model in eval mode, no gradient, 4096 pairs per pass) with scikit-learn's
        `LogisticRegression` (L2 penalty `0.5 w²` on the weight only, `C = 1`), so the fit is finite even on
        separable data.

        Args:
            video_features, music_features: raw features `(N, 2304)` / `(N, 128)` (tensors, arrays or rows).
            labels: `(N,)` 1 matched / 0 mismatched.
        """
        inputs = self.standardizer.check(
            {"video": video_features, "music": music_features}, {"labels": (labels, 2)}
        )
        labels = inputs["labels"].cpu().numpy()
        if labels.min() == labels.max():
            raise ValueError("`labels` must contain both matched (1) and mismatched (0) pairs.")
        was_training = self.training
        self.eval()
        batches = zip(inputs["video_features"].split(4096), inputs["music_features"].split(4096), strict=True)
        distances = torch.cat([self(video, music).distance for video, music in batches])
        self.train(was_training)
        # Imported here: scikit-learn costs about a second at import, and only stage 2 needs it.
        from sklearn.linear_model import LogisticRegression

        regression = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000)
        regression.fit(distances.double().cpu().numpy()[:, None], labels)
        self.distance_classifier.weight.fill_(float(regression.coef_[0, 0]))
        self.distance_classifier.bias.fill_(float(regression.intercept_[0]))


class EmoMVBaselineForRetrieval(EmoMVRetrievalMixin, EmoMVBaselinePreTrainedModel):
    """
    The paper's baseline for retrieval: the stage-1 network, scoring pairs by `1 / Euclidean distance` of the
    unit-norm embeddings (paper equation 3; `similarity_eps` is added to the distance). Trained with the same
    loss as [`EmoMVBaselineForCorrespondence`].
    """

    config_class = EmoMVBaselineRetrievalConfig
    output_class = EmoMVBaselineRetrievalOutput

    def __init__(self, config: EmoMVBaselineRetrievalConfig):
        super().__init__(config)
        self.post_init()

    @classmethod
    def from_stage_one(cls, model: EmoMVBaselineForCorrespondence) -> "EmoMVBaselineForRetrieval":
        """The retrieval head on a trained correspondence baseline: both train the same stage-1 network with the
        same loss, so one training serves both tasks (the stage-2 classifier is left out)."""
        shared = {
            field.name: getattr(model.config, field.name)
            for field in dataclasses.fields(EmoMVBaselineRetrievalConfig)
            if field.name not in ("transformers_version", "architectures", "dtype")
        }
        retrieval = cls(EmoMVBaselineRetrievalConfig(**shared)).to(model.device, model.dtype)
        state = {
            name: value for name, value in model.state_dict().items() if not name.startswith("distance_")
        }
        retrieval.load_state_dict(state)
        return retrieval.train(model.training)

    def pairwise_similarity(
        self, video_embeds: torch.Tensor, music_embeds: torch.Tensor
    ) -> torch.FloatTensor:
        """`1 / (Euclidean distance + eps)` of every video `(N_v, D)` and music `(N_m, D)` embedding → `(N_v, N_m)`."""
        return 1.0 / (pairwise_euclidean_distance(video_embeds, music_embeds) + self.config.similarity_eps)

    def _head_outputs(self, video_embeds, music_embeds, labels, emotion_logits, emotion_labels):
        distance, loss = self._distance_and_loss(video_embeds, music_embeds, labels)
        logits_per_video = self.pairwise_similarity(video_embeds, music_embeds)
        outputs = {
            "distance": distance,
            "similarity": 1.0 / (distance + self.config.similarity_eps),
            "logits_per_video": logits_per_video,
            "logits_per_music": logits_per_video.t(),
        }
        return outputs, loss, None
