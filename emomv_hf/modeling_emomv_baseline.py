"""PyTorch model of the EmoMV paper's baseline: Li & Kumar (2019) "Query by Video", modified as in section 5.2.

Two fully connected towers with emotion heads, a common L2-normalised space, the Euclidean distance between the
two embeddings and a contrastive loss (stage 1); a logistic regression on that distance classifies matched /
mismatched pairs (stage 2, [`EmoMVBaselineForCorrespondence.fit_distance_classifier`]). For retrieval the
similarity of a pair is `1 / distance` (paper equation 3).
"""

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init

from .configuration_emomv_baseline import EmoMVBaselineConfig, EmoMVBaselineRetrievalConfig
from .modeling_emomv import (
    EmoMVCorrespondenceOutput,
    EmoMVFeatureStandardizer,
    EmoMVPreTrainedModel,
    EmoMVRetrievalOutput,
    _as_float64_matrix,
    _check_labels,
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
    One stream of the baseline: fully connected tower (Linear → ReLU [→ Dropout] per layer), the emotion output
    layer on the tower output (multi-task), and the common-space projection Linear → ReLU → Linear → L2-normalise.
    """

    def __init__(self, config: EmoMVBaselineConfig, feature_size: int, hidden_sizes: list[int]):
        super().__init__()
        layers: list[nn.Module] = []
        width = feature_size
        for size in hidden_sizes:
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
        self.initial_weight = -1.0
        self.initial_bias = float(margin) / 2.0
        self.register_buffer("weight", torch.full((1,), self.initial_weight))
        self.register_buffer("bias", torch.full((1,), self.initial_bias))

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        matched_logit = distance * self.weight.to(distance.dtype) + self.bias.to(distance.dtype)
        return torch.stack([torch.zeros_like(matched_logit), matched_logit], dim=-1)


class EmoMVBaselinePreTrainedModel(EmoMVPreTrainedModel):
    """Base class of the baseline models (weight init, standardisation, safetensors-only loading)."""

    config_class = EmoMVBaselineConfig
    config: EmoMVBaselineConfig
    base_model_prefix = "emomv_baseline"

    def __init__(self, config: EmoMVBaselineConfig):
        super().__init__(config)
        self.standardizer = EmoMVFeatureStandardizer(config.video_feature_size, config.music_feature_size)
        self.video_encoder = EmoMVBaselineEncoder(
            config, config.video_feature_size, config.video_hidden_sizes
        )
        self.music_encoder = EmoMVBaselineEncoder(
            config, config.music_feature_size, config.music_hidden_sizes
        )

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, EmoMVDistanceClassifier):
            init.constant_(module.weight, module.initial_weight)
            init.constant_(module.bias, module.initial_bias)

    def _stage_one(self, video_features, music_features, labels, video_emotion_labels, music_emotion_labels):
        """Towers, distance and the stage-1 loss shared by both baseline heads."""
        video, music = self._standardized_pair(video_features, music_features)
        labels, video_labels, music_labels = self._check_all_labels(
            video.shape[0], labels, video_emotion_labels, music_emotion_labels
        )
        video_embeds, video_emotion_logits = self.video_encoder(video)
        music_embeds, music_emotion_logits = self.music_encoder(music)
        distance = euclidean_distance(video_embeds, music_embeds)
        losses = (None, None, None, None)
        if labels is not None:
            match_loss = contrastive_loss(distance, labels, self.config.contrastive_margin)
            loss, video_loss, music_loss = self._total_loss(
                match_loss, video_emotion_logits, music_emotion_logits, video_labels, music_labels
            )
            losses = (loss, match_loss, video_loss, music_loss)
        return video_embeds, music_embeds, video_emotion_logits, music_emotion_logits, distance, losses


class EmoMVBaselineForCorrespondence(EmoMVBaselinePreTrainedModel):
    """
    The paper's baseline for correspondence classification. `loss` is the stage-1 loss (contrastive on the
    Euclidean distance + emotion cross-entropies when multi-task); `logits` come from the stage-2 logistic
    regression on the distance, which [`fit_distance_classifier`] fits after stage 1 and which is saved with the
    model. Until then `logits` use the documented initial values (`weight = -1`, `bias = margin / 2`).
    """

    config_class = EmoMVBaselineConfig

    def __init__(self, config: EmoMVBaselineConfig):
        super().__init__(config)
        self.distance_classifier = EmoMVDistanceClassifier(config.contrastive_margin)
        self.post_init()

    def forward(
        self,
        video_features: torch.Tensor,
        music_features: torch.Tensor,
        labels: torch.LongTensor | None = None,
        video_emotion_labels: torch.LongTensor | None = None,
        music_emotion_labels: torch.LongTensor | None = None,
        return_dict: bool | None = None,
    ) -> EmoMVBaselineCorrespondenceOutput | tuple:
        r"""
        Args:
            video_features (`torch.FloatTensor` of shape `(B, video_feature_size)`): raw SlowFast features.
            music_features (`torch.FloatTensor` of shape `(B, music_feature_size)`): raw VGGish features.
            labels (`torch.LongTensor` of shape `(B,)`, *optional*): 1 matched, 0 mismatched; gives `loss`.
            video_emotion_labels, music_emotion_labels (`torch.LongTensor` of shape `(B,)`, *optional*):
                emotion indices 0-4; required with `labels` for a multi-task model, ignored by a single-task one.
            return_dict (`bool`, *optional*): return a tuple when `False`.
        """
        video_embeds, music_embeds, video_logits, music_logits, distance, losses = self._stage_one(
            video_features, music_features, labels, video_emotion_labels, music_emotion_labels
        )
        loss, match_loss, video_loss, music_loss = losses
        output = EmoMVBaselineCorrespondenceOutput(
            loss=loss,
            logits=self.distance_classifier(distance),
            video_emotion_logits=video_logits,
            music_emotion_logits=music_logits,
            video_embeds=video_embeds,
            music_embeds=music_embeds,
            match_loss=match_loss,
            video_emotion_loss=video_loss,
            music_emotion_loss=music_loss,
            distance=distance,
        )
        return output if self._return_dict(return_dict) else output.to_tuple()

    @torch.no_grad()
    def fit_distance_classifier(
        self,
        video_features: Any,
        music_features: Any,
        labels: Any,
        inverse_regularization: float = 1.0,
        max_iterations: int = 100,
        batch_size: int = 4096,
    ) -> None:
        """
        Stage 2: fit the logistic regression `P(matched) = sigmoid(w * d + b)` on the Euclidean distance `d` of the
        embeddings of the given pairs (model in eval mode, no gradient), by Newton's method in float64. The
        objective is scikit-learn's default `LogisticRegression` (L2 penalty `0.5 w²` on the weight only,
        `inverse_regularization` = its `C`), so the fit is finite even on separable data.

        Args:
            video_features, music_features: raw features `(N, 2304)` / `(N, 128)` (tensors, arrays or rows).
            labels: `(N,)` 1 matched / 0 mismatched.
        """
        video = _as_float64_matrix(video_features, "video_features", self.config.video_feature_size)
        music = _as_float64_matrix(music_features, "music_features", self.config.music_feature_size)
        if video.shape[0] != music.shape[0]:
            raise ValueError(
                f"`video_features` and `music_features` must have the same number of rows, got {video.shape[0]} "
                f"and {music.shape[0]}."
            )
        labels = torch.as_tensor(labels)
        labels = _check_labels(labels, "labels", video.shape[0], 2).double()
        if labels.min() == labels.max():
            raise ValueError("`labels` must contain both matched (1) and mismatched (0) pairs.")

        was_training = self.training
        self.eval()
        dtype = self._buffer_dtype()
        device = self.standardizer.video_mean.device
        distances = []
        for start in range(0, video.shape[0], batch_size):
            output = self(
                video[start : start + batch_size].to(device, dtype),
                music[start : start + batch_size].to(device, dtype),
            )
            distances.append(output.distance.double().cpu())
        self.train(was_training)

        weight, bias = _fit_logistic_regression(
            torch.cat(distances), labels, inverse_regularization, max_iterations
        )
        self.distance_classifier.weight.fill_(weight)
        self.distance_classifier.bias.fill_(bias)


def _fit_logistic_regression(
    x: torch.Tensor, y: torch.Tensor, inverse_regularization: float, max_iterations: int
) -> tuple[float, float]:
    """Minimise `C * Σ logloss(y, sigmoid(w x + b)) + 0.5 w²` over (w, b) by damped Newton steps (float64)."""
    design = torch.stack([x, torch.ones_like(x)], dim=-1)  # (N, 2)
    penalty = torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64))
    theta = torch.zeros(2, dtype=torch.float64)

    def objective(params):
        z = design @ params
        return inverse_regularization * (F.softplus(z) - y * z).sum() + 0.5 * params[0] ** 2

    value = objective(theta)
    for _ in range(max_iterations):
        p = torch.sigmoid(design @ theta)
        gradient = inverse_regularization * design.t() @ (p - y) + penalty @ theta
        hessian = inverse_regularization * design.t() @ (design * (p * (1 - p)).unsqueeze(-1)) + penalty
        step = torch.linalg.solve(hessian + 1e-12 * torch.eye(2, dtype=torch.float64), gradient)
        scale = 1.0
        while scale > 1e-8:
            candidate = theta - scale * step
            candidate_value = objective(candidate)
            if candidate_value <= value:
                break
            scale /= 2
        else:
            break
        converged = (candidate - theta).abs().max() < 1e-10
        theta, value = candidate, candidate_value
        if converged:
            break
    return float(theta[0]), float(theta[1])


class EmoMVBaselineForRetrieval(EmoMVBaselinePreTrainedModel):
    """
    The paper's baseline for retrieval: the stage-1 network, scoring pairs by `1 / Euclidean distance` of the
    unit-norm embeddings (paper equation 3; `similarity_eps` is added to the distance). Trained with the same
    loss as [`EmoMVBaselineForCorrespondence`].
    """

    config_class = EmoMVBaselineRetrievalConfig

    def __init__(self, config: EmoMVBaselineRetrievalConfig):
        super().__init__(config)
        self.post_init()

    def get_video_features(self, video_features: torch.Tensor) -> torch.FloatTensor:
        """Raw video features `(N, video_feature_size)` → L2-normalised embeddings `(N, common_size)`."""
        return self.video_encoder(self._standardized_video(video_features))[0]

    def get_music_features(self, music_features: torch.Tensor) -> torch.FloatTensor:
        """Raw music features `(N, music_feature_size)` → L2-normalised embeddings `(N, common_size)`."""
        return self.music_encoder(self._standardized_music(music_features))[0]

    def pairwise_similarity(
        self, video_embeds: torch.Tensor, music_embeds: torch.Tensor
    ) -> torch.FloatTensor:
        """`1 / (Euclidean distance + eps)` of every video `(N_v, D)` and music `(N_m, D)` embedding → `(N_v, N_m)`."""
        return 1.0 / (pairwise_euclidean_distance(video_embeds, music_embeds) + self.config.similarity_eps)

    def forward(
        self,
        video_features: torch.Tensor,
        music_features: torch.Tensor,
        labels: torch.LongTensor | None = None,
        video_emotion_labels: torch.LongTensor | None = None,
        music_emotion_labels: torch.LongTensor | None = None,
        return_dict: bool | None = None,
    ) -> EmoMVBaselineRetrievalOutput | tuple:
        r"""
        Args:
            video_features (`torch.FloatTensor` of shape `(B, video_feature_size)`): raw SlowFast features.
            music_features (`torch.FloatTensor` of shape `(B, music_feature_size)`): raw VGGish features.
            labels (`torch.LongTensor` of shape `(B,)`, *optional*): 1 matched, 0 mismatched; gives `loss`.
            video_emotion_labels, music_emotion_labels (`torch.LongTensor` of shape `(B,)`, *optional*):
                emotion indices 0-4; required with `labels` for a multi-task model, ignored by a single-task one.
            return_dict (`bool`, *optional*): return a tuple when `False`.
        """
        video_embeds, music_embeds, video_logits, music_logits, distance, losses = self._stage_one(
            video_features, music_features, labels, video_emotion_labels, music_emotion_labels
        )
        loss, match_loss, video_loss, music_loss = losses
        logits_per_video = self.pairwise_similarity(video_embeds, music_embeds)
        output = EmoMVBaselineRetrievalOutput(
            loss=loss,
            similarity=1.0 / (distance + self.config.similarity_eps),
            logits_per_video=logits_per_video,
            logits_per_music=logits_per_video.t(),
            video_embeds=video_embeds,
            music_embeds=music_embeds,
            video_emotion_logits=video_logits,
            music_emotion_logits=music_logits,
            match_loss=match_loss,
            video_emotion_loss=video_loss,
            music_emotion_loss=music_loss,
            distance=distance,
        )
        return output if self._return_dict(return_dict) else output.to_tuple()


__all__ = [
    "EmoMVBaselineCorrespondenceOutput",
    "EmoMVBaselineForCorrespondence",
    "EmoMVBaselineForRetrieval",
    "EmoMVBaselinePreTrainedModel",
    "EmoMVBaselineRetrievalOutput",
]
