"""PyTorch EmoMV emotion tagger: the paper's "modified Feature AttendAffectNet" (EmoMV sections 3.2-3.3).

Feature AttendAffectNet (Thao et al., "AttendAffectNet: emotion prediction of movie viewers using multimodal
fusion with self-attention", Sensors 2021): each feature vector is projected by its own fully connected layer,
the projected vectors are the tokens of a transformer encoder, its outputs are average-pooled and a fully
connected layer predicts the emotion. The EmoMV paper replaced the regression output by a softmax over six
classes (five emotions and neutral) and tagged unlabelled music videos from video only, music only and both.
"""

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import ModelOutput, can_return_tuple

from .configuration_emomv_tagging import EmoMVTaggingConfig
from .modeling_emomv import EmoMVBasePreTrainedModel, FeatureStandardizer


@dataclass
class EmoMVTaggingOutput(ModelOutput):
    r"""
    Output of [`EmoMVForEmotionTagging`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            Cross-entropy of `logits` (class-weighted with `config.class_weighting="balanced"`); with
            `config.stream_subset_loss` and several streams, the mean of it and of each stream's own
            prediction's cross-entropy.
        logits (`torch.FloatTensor` of shape `(B, num_labels)`):
            Class scores (before softmax) from the given streams; `config.id2label` names the classes.
        pooler_output (`torch.FloatTensor` of shape `(B, hidden_size)`):
            The average of the encoder outputs over the given streams.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None


class EmoMVTaggingEncoder(nn.Module):
    """Transformer encoder over the stream tokens: `(B, S, hidden_size)` → `(B, S, hidden_size)`."""

    def __init__(self, config: EmoMVTaggingConfig):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=config.hidden_size,
                nhead=config.num_attention_heads,
                dim_feedforward=config.intermediate_size,
                dropout=config.hidden_dropout,
                activation="gelu",
                layer_norm_eps=config.layer_norm_eps,
                batch_first=True,
            )
            for _ in range(config.num_hidden_layers)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            tokens = layer(tokens)
        return tokens


class EmoMVForEmotionTagging(EmoMVBasePreTrainedModel):
    """
    Emotion tagger of music-video segments (the EmoMV paper's modified Feature AttendAffectNet): standardise each
    given stream's raw features, project each to `hidden_size` with its own Linear layer (after dropout), run a
    transformer encoder across the stream tokens, average them and classify into `config.id2label` (the five
    emotions, plus neutral with `config.neutral_class`). Give any non-empty subset of `config.stream_names`.
    `forward` returns an [`EmoMVTaggingOutput`].
    """

    config_class = EmoMVTaggingConfig
    config: EmoMVTaggingConfig
    base_model_prefix = "emomv_tagging"

    def __init__(self, config: EmoMVTaggingConfig):
        super().__init__(config)
        sizes = dict(zip(config.stream_names, config.stream_feature_sizes, strict=True))
        self.standardizer = FeatureStandardizer(sizes)
        self.input_dropout = nn.Dropout(config.projection_dropout)
        self.projections = nn.ModuleDict(
            {stream: nn.Linear(width, config.hidden_size) for stream, width in sizes.items()}
        )
        self.encoder = EmoMVTaggingEncoder(config)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        if config.stream_heads:
            self.stream_classifiers = nn.ModuleDict(
                {stream: nn.Linear(config.hidden_size, config.num_labels) for stream in sizes}
            )
        self.post_init()

    # -- inputs ----------------------------------------------------------------------------------------------

    def _given_streams(
        self, video_features: Any, music_features: Any, other_features: dict[str, Any]
    ) -> dict[str, Any]:
        expected = [f"{name}_features" for name in self.config.stream_names]
        unknown = sorted(set(other_features) - set(expected))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown input(s) {unknown}; its streams are {expected}."
            )
        given = {"video_features": video_features, "music_features": music_features, **other_features}
        return {
            name: given[f"{name}_features"]
            for name in self.config.stream_names
            if given.get(f"{name}_features") is not None
        }

    def prepare_inputs(
        self,
        video_features: Any = None,
        music_features: Any = None,
        labels: Any = None,
        **other_features: Any,
    ) -> dict[str, torch.Tensor]:
        """
        Check raw inputs once, where they enter (tensors, numpy arrays or sequences of rows), and return them as
        `forward` keyword arguments on the model's device and dtype. Raises a `ValueError` (or `TypeError`)
        naming the argument: no stream, a stream the config does not have, wrong width, NaN or inf, different
        batch sizes, labels out of range.
        """
        streams = self._given_streams(video_features, music_features, other_features)
        expected = ", ".join(f"`{name}_features`" for name in self.config.stream_names)
        # A stream the tagger lacks would be left out without a word: a "joint" prediction from one stream.
        for name, values in (("video", video_features), ("music", music_features)):
            if values is not None and name not in streams:
                raise ValueError(
                    f"{type(self).__name__} has no `{name}_features` stream; its streams: {expected}."
                )
        if not streams:
            raise ValueError(f"{type(self).__name__} needs at least one of {expected}.")
        return self.standardizer.check(streams, {"labels": (labels, self.config.num_labels)})

    @torch.no_grad()
    def fit_standardization(self, **features: Any) -> None:
        """
        Fit the per-dimension mean and standard deviation of each given stream (`video_features=...`,
        `music_features=...`; use the training split only) into the model's buffers, so a saved model takes raw
        features. Each value: `(N, width)` tensor, array or sequence of rows.
        """
        streams = self._given_streams(
            features.pop("video_features", None), features.pop("music_features", None), features
        )
        self.standardizer.fit(streams, float(self.config.standardization_eps))

    @torch.no_grad()
    def fit_class_weights(self, labels: torch.Tensor) -> None:
        """
        Set `config.class_weights` (the loss's weights, saved with the config) from the training labels `(N,)`:
        class `k` gets `N / (num_labels * count_k)`, as scikit-learn's "balanced"; a class absent gets 1.
        """
        counts = torch.bincount(labels.reshape(-1).cpu(), minlength=self.config.num_labels).double()
        weights = torch.where(
            counts > 0, counts.sum() / (self.config.num_labels * counts), torch.ones_like(counts)
        )
        self.config.class_weights = [round(float(weight), 6) for weight in weights]

    @torch.no_grad()
    def copy_stream_projections(self, source: PreTrainedModel) -> list[str]:
        """
        Copy a trained EmoMV correspondence or retrieval model's per-stream standardisation and reduction layer
        (`Linear(width → reduced_size)` on standardised features, the same shapes as this tagger's projections
        when `hidden_size == reduced_size`) into this tagger, for every stream both have. Returns those streams;
        raises a `ValueError` when there is none or a shape differs.
        """
        copied = []
        for stream in self.config.stream_names:
            reduction = getattr(getattr(source, f"{stream}_encoder", None), "reduction", None)
            if not isinstance(reduction, nn.Linear):
                continue
            projection = self.projections[stream]
            if reduction.weight.shape != projection.weight.shape:
                raise ValueError(
                    f"{type(source).__name__}'s {stream} reduction is {tuple(reduction.weight.shape)} (out, in), "
                    f"the tagger's {stream} projection {tuple(projection.weight.shape)}: set the tagger's "
                    f"`hidden_size` to the source's `reduced_size`."
                )
            projection.weight.copy_(reduction.weight)
            projection.bias.copy_(reduction.bias)
            for statistic in ("mean", "std"):
                getattr(self.standardizer, f"{stream}_{statistic}").copy_(
                    getattr(source.standardizer, f"{stream}_{statistic}")
                )
            copied.append(stream)
        if not copied:
            raise ValueError(
                f"{type(source).__name__} has no `<stream>_encoder.reduction` layer for the tagger's streams "
                f"{self.config.stream_names}: give an EmoMV correspondence or retrieval model."
            )
        return copied

    # -- forward ---------------------------------------------------------------------------------------------

    def classify(self, streams: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw features of some streams (`{name: (B, width)}`) → (logits `(B, num_labels)`, pooled `(B, H)`).
        One stream alone is classified by its own head with `config.stream_heads`."""
        tokens = torch.stack(
            [
                self.projections[name](self.input_dropout(self.standardizer(features, name)))
                for name, features in streams.items()
            ],
            dim=1,
        )
        pooled = self.encoder(tokens).mean(dim=1)
        head = self.classifier
        if self.config.stream_heads and len(streams) == 1:
            head = self.stream_classifiers[next(iter(streams))]
        return head(self.dropout(pooled)), pooled

    @can_return_tuple
    def forward(
        self,
        video_features: torch.Tensor | None = None,
        music_features: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        **other_features: torch.Tensor,
    ) -> EmoMVTaggingOutput:
        r"""
        Args:
            video_features (`torch.FloatTensor` of shape `(B, 2304)`, *optional*): raw SlowFast features.
            music_features (`torch.FloatTensor` of shape `(B, 128)`, *optional*): raw VGGish features.
            labels (`torch.LongTensor` of shape `(B,)`, *optional*): class indices (`config.id2label`); gives `loss`.
            other_features: `{name}_features` `(B, width)` of the config's other streams, if any.
            return_dict (`bool`, *optional*): return a tuple when `False`.

        At least one stream must be given; inputs are trusted, as in transformers' models (check raw inputs once
        with [`prepare_inputs`]).
        """
        streams = self._given_streams(video_features, music_features, other_features)
        logits, pooled = self.classify(streams)
        loss = None
        if labels is not None:
            weight = None
            if self.config.class_weighting == "balanced" and self.config.class_weights is not None:
                weight = torch.tensor(self.config.class_weights, dtype=logits.dtype, device=logits.device)
            predictions = [logits]
            if self.config.stream_subset_loss and len(streams) > 1:
                predictions += [self.classify({name: streams[name]})[0] for name in streams]
            smoothing = float(self.config.label_smoothing)
            losses = [
                F.cross_entropy(each, labels, weight=weight, label_smoothing=smoothing)
                for each in predictions
            ]
            loss = torch.stack(losses).mean()  # one prediction: its own loss
        return EmoMVTaggingOutput(loss=loss, logits=logits, pooler_output=pooled)
