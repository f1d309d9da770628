"""PyTorch EmoMV models: affective music-video correspondence classification and retrieval.

Paper: "EmoMV: Affective music-video correspondence learning datasets for classification and retrieval"
(Information Fusion, 2023), sections 5.1 (correspondence) and 6.1 (retrieval). Both models take the raw
pre-extracted release features (SlowFast R50 2304-d for video, VGGish 128-d for music) and standardise them
with statistics stored in the model (see [`EmoMVPreTrainedModel.fit_standardization`]).
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import initialization as init
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import ModelOutput, can_return_tuple

from .configuration_emomv import EmoMVBaseConfig, EmoMVConfig, EmoMVRetrievalConfig, EmoMVTowersConfig

# ----------------------------------------------------------------------------------------------------------------
# Multimodal compact bilinear pooling
# ----------------------------------------------------------------------------------------------------------------


def count_sketch(inputs: torch.Tensor, hash_index: torch.Tensor, hash_sign: torch.Tensor, output_size: int):
    """Count sketch of `inputs` (B, n) into (B, output_size): `out[:, h[i]] += s[i] * inputs[:, i]`."""
    sketch = inputs.new_zeros(inputs.shape[:-1] + (output_size,))
    return sketch.index_add(-1, hash_index, inputs * hash_sign.to(inputs.dtype))


class EmoMVCompactBilinearPooling(nn.Module):
    """
    Compact bilinear pooling of two vectors with fixed hash tensors. The hashes are drawn once from a generator
    seeded with `seed` (never from the global random state) and kept as persistent buffers, so they are saved in
    the checkpoint and a reloaded model computes exactly the same fusion.
    """

    def __init__(self, first_size: int, second_size: int, output_size: int, seed: int = 0):
        super().__init__()
        self.first_size = first_size
        self.second_size = second_size
        self.output_size = output_size
        self.seed = seed
        self.register_buffer("first_hash_index", torch.zeros(first_size, dtype=torch.long))
        self.register_buffer("first_hash_sign", torch.ones(first_size))
        self.register_buffer("second_hash_index", torch.zeros(second_size, dtype=torch.long))
        self.register_buffer("second_hash_sign", torch.ones(second_size))
        # On the meta device (under `from_pretrained`) they are loaded from the checkpoint or set by `_init_weights`.
        if self.first_hash_index.device.type != "meta":
            for name, value in self.seeded_hashes().items():
                init.copy_(getattr(self, name), value)

    def seeded_hashes(self) -> dict[str, torch.Tensor]:
        """The hash tensors that `seed` determines (first stream drawn first), on the CPU."""
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        hashes = {}
        for stream, size in (("first", self.first_size), ("second", self.second_size)):
            hashes[f"{stream}_hash_index"] = torch.randint(0, self.output_size, (size,), generator=generator)
            sign = torch.randint(0, 2, (size,), generator=generator) * 2 - 1
            hashes[f"{stream}_hash_sign"] = sign.to(torch.float32)
        return hashes

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """
        Multimodal compact bilinear pooling (Fukui et al., 2016; Gao et al., 2016) of `first` `(B, first_size)`
        and `second` `(B, second_size)` → `(B, output_size)`: the count sketch of the outer product
        `first ⊗ second` under the hash `(h1(i) + h2(j)) mod d` and sign `s1(i) s2(j)`, computed as the circular
        convolution of the two count sketches, i.e. `irfft(rfft(Ψ1(first)) * rfft(Ψ2(second)))`.
        """
        compute_dtype = torch.float64 if first.dtype == torch.float64 else torch.float32
        size = self.output_size
        sketch_first = count_sketch(
            first.to(compute_dtype), self.first_hash_index, self.first_hash_sign, size
        )
        sketch_second = count_sketch(
            second.to(compute_dtype), self.second_hash_index, self.second_hash_sign, size
        )
        product = torch.fft.rfft(sketch_first, dim=-1) * torch.fft.rfft(sketch_second, dim=-1)
        return torch.fft.irfft(product, n=size, dim=-1).to(first.dtype)


# ----------------------------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------------------------


class EmoMVProjectionHead(nn.Module):
    """
    Projection head of paper Figure 13: Linear → GELU → Linear → Dropout → GELU → + residual (first Linear's
    output) → [LayerNorm] → GELU → L2-normalise. `(B, reduced_size)` → `(B, projection_size)`.
    """

    def __init__(self, config: EmoMVTowersConfig):
        super().__init__()
        size = config.projection_size
        self.projection = nn.Linear(config.reduced_size, size)
        self.fc = nn.Linear(size, size)
        self.dropout = nn.Dropout(config.projection_dropout)
        self.layer_norm = (
            nn.LayerNorm(size, eps=config.layer_norm_eps) if config.projection_layer_norm else None
        )
        self.activation = nn.GELU()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        projected = self.projection(hidden_states)
        hidden_states = self.fc(self.activation(projected))
        hidden_states = self.activation(self.dropout(hidden_states))
        hidden_states = hidden_states + projected
        if self.layer_norm is not None:
            hidden_states = self.layer_norm(hidden_states)
        return F.normalize(self.activation(hidden_states), p=2, dim=-1)


class EmoMVEmotionHead(nn.Module):
    """Per-stream emotion branch: GELU → Linear(num_emotions). `(B, input_size)` → logits `(B, num_emotions)`."""

    def __init__(self, input_size: int, num_emotions: int):
        super().__init__()
        self.activation = nn.GELU()
        self.classifier = nn.Linear(input_size, num_emotions)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.activation(hidden_states))


class EmoMVEncoder(nn.Module):
    """
    One stream ("subnetwork") of `stream` (`"video"` or `"music"`): reduction Linear(feature_size → reduced_size),
    projection head, and (multi-task) the emotion head reading either the reduced features or the embedding.
    """

    def __init__(self, config: EmoMVTowersConfig, stream: str):
        super().__init__()
        self.emotion_head_input = config.emotion_head_input
        self.reduction = nn.Linear(getattr(config, f"{stream}_feature_size"), config.reduced_size)
        self.projection_head = EmoMVProjectionHead(config)
        self.emotion_head = None
        if config.multi_task:  # it reads either width: the config makes `reduced_size == projection_size`
            self.emotion_head = EmoMVEmotionHead(config.reduced_size, config.num_emotions)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`(B, feature_size)` standardised features → (embeddings `(B, projection_size)`, emotion logits or None)."""
        reduced = self.reduction(features)
        embeds = self.projection_head(reduced)
        emotion_logits = None
        if self.emotion_head is not None:
            emotion_logits = self.emotion_head(reduced if self.emotion_head_input == "reduced" else embeds)
        return embeds, emotion_logits


class FeatureStandardizer(nn.Module):
    """
    Per-dimension standardisation `(x - mean) / std` of named raw feature streams (`feature_sizes`: stream →
    width). The statistics are persistent buffers `{stream}_mean` / `{stream}_std` (saved in `model.safetensors`).
    Until fitted they are the identity (mean 0, std 1): training an unfitted model works, but on raw SlowFast
    features (values up to about 28) it trains worse than the paper's setup.
    """

    def __init__(self, feature_sizes: dict[str, int]):
        super().__init__()
        self.streams = tuple(feature_sizes)
        for stream, width in feature_sizes.items():
            self.register_buffer(f"{stream}_mean", torch.zeros(width))
            self.register_buffer(f"{stream}_std", torch.ones(width))

    def check(self, streams: dict[str, Any], labels: dict[str, tuple[Any, int]]) -> dict[str, torch.Tensor]:
        """Raw features of some streams (`{stream: (N, width)}` tensors, arrays or rows) and class labels
        (`{name: (values or None, num_classes)}`) → `forward` keyword arguments (`{stream}_features`, the labels
        given) on the statistics' device, checked by [`check_features`] / [`check_labels`] for one batch size."""
        inputs = {}
        for stream, values in streams.items():
            statistic = getattr(self, f"{stream}_mean")
            features = check_features(values, f"{stream}_features", len(statistic))
            features = features.to(statistic.device, statistic.dtype)
            if not torch.isfinite(features).all():  # finite float64 values beyond float32's range became inf
                raise ValueError(f"`{stream}_features` holds values beyond the range of {statistic.dtype}.")
            inputs[f"{stream}_features"] = features
        sizes = {name: len(tensor) for name, tensor in inputs.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(
                f"the features must have the same batch size (row i of each is one pair or segment), got {sizes}. "
                "To score every video against every music segment of different-size libraries, use a retrieval "
                "model's `encode_stream`."
            )
        for name, (values, num_classes) in labels.items():
            if values is not None:
                size = len(next(iter(inputs.values()))) if inputs else len(_as_tensor(values, name))
                inputs[name] = check_labels(values, name, size, num_classes).to(next(self.buffers()).device)
        return inputs

    @torch.no_grad()
    def fit(self, streams: dict[str, Any], eps: float) -> None:
        """Fit the statistics of some streams from their raw features (`{stream: (N, width)}`, N may differ
        between streams; use the training split only), in float64 (population std)."""
        fitted = {}
        for stream, values in streams.items():
            name = f"{stream}_features"
            features = check_features(values, name, len(getattr(self, f"{stream}_mean"))).to(
                "cpu", torch.float64
            )
            if len(features) < 2:
                raise ValueError(f"`{name}` needs at least 2 rows to fit statistics, got {len(features)}.")
            fitted[stream] = features
        for stream, features in fitted.items():  # every stream checked before any is changed
            std = features.std(dim=0, correction=0)
            getattr(self, f"{stream}_mean").copy_(features.mean(dim=0))
            getattr(self, f"{stream}_std").copy_(torch.where(std < eps, torch.ones_like(std), std))

    def forward(self, features: torch.Tensor, stream: str) -> torch.Tensor:
        """Standardise `(B, width)` raw features of `stream`."""
        return (features - getattr(self, f"{stream}_mean")) / getattr(self, f"{stream}_std")


def contrastive_loss(distance: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """
    Contrastive loss (Hadsell et al., 2006) on a distance `(B,)`: matched pairs (`labels == 1`) pay `d²`,
    mismatched pairs `max(0, margin - d)²`; the result is halved and averaged over the batch.
    """
    matched = labels.to(distance.dtype)
    per_pair = matched * distance.pow(2) + (1.0 - matched) * F.relu(margin - distance).pow(2)
    return 0.5 * per_pair.mean()


def supervised_contrastive_loss(
    video_embeds: torch.Tensor,
    music_embeds: torch.Tensor,
    video_emotion_labels: torch.Tensor,
    music_emotion_labels: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """
    Cross-modal supervised contrastive loss (Khosla et al., 2020) over a batch: for every video, the mean over the
    batch's music segments of its emotion (its positives) of `-log softmax(cos / temperature)` over all the batch's
    music, and the same from every music segment to the videos; the two directions are averaged. A query without
    positive in the batch adds nothing.

    Args:
        video_embeds (`(B, D)`), music_embeds (`(B, D)`): L2-normalised embeddings.
        video_emotion_labels (`(B,)`), music_emotion_labels (`(B,)`): emotion indices.
    """
    logits = video_embeds @ music_embeds.t() / temperature
    positives = (video_emotion_labels[:, None] == music_emotion_labels[None, :]).to(logits.dtype)
    directions = []
    for scores, mask in ((logits, positives), (logits.t(), positives.t())):
        counts = mask.sum(dim=-1)
        # A query without positive has an all-zero mask row, so its `per_query` is already 0.
        per_query = -(mask * scores.log_softmax(dim=-1)).sum(dim=-1) / counts.clamp(min=1)
        directions.append(per_query.sum() / (counts > 0).sum().clamp(min=1))
    return 0.5 * (directions[0] + directions[1])


# ----------------------------------------------------------------------------------------------------------------
# Checking raw inputs where they enter (`forward` trusts its inputs, as transformers' models do)
# ----------------------------------------------------------------------------------------------------------------


def _as_tensor(values: Any, name: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach()
    try:
        array = np.asarray(values)
        if array.dtype == object:  # a pandas or Arrow column of rows: one array per row
            array = np.stack(array)
        if not array.dtype.isnative:  # torch reads native byte order only; HDF5 or .npy may store big-endian
            array = array.astype(array.dtype.newbyteorder("="))
        # torch warns on (and must not write into) read-only buffers, e.g. zero-copy views of Arrow columns.
        return torch.from_numpy(array if array.flags.writeable else array.copy())
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"`{name}` must be a torch tensor, a numpy array or a sequence of numbers, got {type(values).__name__}."
        ) from None


def check_features(values: Any, name: str, width: int) -> torch.Tensor:
    """Raw features (tensor, array or rows) → a real `(N, width)` tensor without NaN or inf, else a clear error."""
    features = _as_tensor(values, name)
    if features.dtype == torch.bool or features.is_complex():
        raise ValueError(f"`{name}` must hold real numbers, got dtype {features.dtype}.")
    if features.ndim != 2 or features.shape[-1] != width:
        hint = " (add a batch dimension with `.unsqueeze(0)`)" if features.ndim == 1 else ""
        raise ValueError(f"`{name}` must have shape (batch, {width}), got {tuple(features.shape)}{hint}.")
    if features.shape[0] == 0:
        raise ValueError(f"`{name}` is an empty batch.")
    if not torch.isfinite(features).all():
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return features


def check_labels(values: Any, name: str, batch_size: int, num_classes: int) -> torch.Tensor:
    """Class indices → a `(batch_size,)` int64 tensor in `0..num_classes - 1`, else a clear error."""
    labels = _as_tensor(values, name)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"`{name}` must hold integer class indices, got dtype {labels.dtype}.")
    if labels.ndim != 1 or labels.shape[0] != batch_size:
        raise ValueError(f"`{name}` must have shape ({batch_size},), got {tuple(labels.shape)}.")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"`{name}` must be in 0..{num_classes - 1}, got values from {int(labels.min())} to {int(labels.max())}."
        )
    return labels.long()


# ----------------------------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class EmoMVModelOutput(ModelOutput):
    r"""
    Fields every EmoMV model returns; [`EmoMVCorrespondenceOutput`] and [`EmoMVRetrievalOutput`] add the head's.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            Weighted sum of the matched/mismatched loss and (multi-task) the two emotion cross-entropies.
        video_embeds, music_embeds (`torch.FloatTensor` of shape `(B, D)`):
            L2-normalised embeddings of the two streams.
        video_emotion_logits, music_emotion_logits (`torch.FloatTensor` of shape `(B, num_emotions)`):
            Emotion scores of each stream; `None` for a single-task model.
        match_loss, video_emotion_loss, music_emotion_loss (`torch.FloatTensor` of shape `()`, *optional*):
            The unweighted loss terms, for logging.
        extra_loss (`torch.FloatTensor` of shape `()`, *optional*):
            A head's weighted extra term of `loss` (the retrieval model's supervised-contrastive loss), if any.
    """

    loss: torch.FloatTensor | None = None
    video_embeds: torch.FloatTensor | None = None
    music_embeds: torch.FloatTensor | None = None
    video_emotion_logits: torch.FloatTensor | None = None
    music_emotion_logits: torch.FloatTensor | None = None
    match_loss: torch.FloatTensor | None = None
    video_emotion_loss: torch.FloatTensor | None = None
    music_emotion_loss: torch.FloatTensor | None = None
    extra_loss: torch.FloatTensor | None = None


@dataclass
class EmoMVCorrespondenceOutput(EmoMVModelOutput):
    r"""
    Output of [`EmoMVForCorrespondence`]: the fields of [`EmoMVModelOutput`] (`match_loss` is the cross-entropy),
    and:

    Args:
        logits (`torch.FloatTensor` of shape `(B, 2)`):
            Matched/mismatched scores before softmax; index 1 is "matched".
    """

    logits: torch.FloatTensor | None = None


@dataclass
class EmoMVRetrievalOutput(EmoMVModelOutput):
    r"""
    Output of [`EmoMVForRetrieval`]: the fields of [`EmoMVModelOutput`] (`match_loss` is the contrastive loss on
    the cosine distance), and:

    Args:
        similarity (`torch.FloatTensor` of shape `(B,)`):
            Similarity of pair i (video i, music i), as `config.similarity` defines it (cosine by default).
        logits_per_video (`torch.FloatTensor` of shape `(B, B)`):
            Similarity of every video of the batch (rows) to every music segment (columns).
        logits_per_music (`torch.FloatTensor` of shape `(B, B)`):
            Transpose of `logits_per_video`.
    """

    similarity: torch.FloatTensor | None = None
    logits_per_video: torch.FloatTensor | None = None
    logits_per_music: torch.FloatTensor | None = None


# ----------------------------------------------------------------------------------------------------------------
# Pretrained model base
# ----------------------------------------------------------------------------------------------------------------


class EmoMVBasePreTrainedModel(PreTrainedModel):
    """What every EmoMV model shares (the tagger and the ensemble included): its main input, and `_init_weights`
    where it differs from `PreTrainedModel._init_weights` (which does the rest: Linear with `initializer_range`:
    N(0, initializer_range), zero bias; LayerNorm: 1 / 0). Linear with `initializer_range=None` (the default):
    PyTorch's default (uniform Kaiming), as the authors' code, where `PreTrainedModel` would draw N(0, 0.02);
    multi-head attention: its input projection alone (Xavier-uniform, zero bias), leaving its output Linear as
    every Linear (transformers' `_reset_parameters` would zero its bias); standardisation: identity; MCB hashes:
    drawn from `mcb_seed`."""

    main_input_name = "video_features"
    input_modalities = ("video", "audio")

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear) and self.config.initializer_range is None:
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                bound = 1.0 / math.sqrt(module.in_features)
                init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, nn.MultiheadAttention):
            init.xavier_uniform_(module.in_proj_weight)
            if module.in_proj_bias is not None:
                init.zeros_(module.in_proj_bias)
        elif isinstance(module, FeatureStandardizer):
            for stream in module.streams:
                init.zeros_(getattr(module, f"{stream}_mean"))
                init.ones_(getattr(module, f"{stream}_std"))
        elif isinstance(module, EmoMVCompactBilinearPooling):
            for name, value in module.seeded_hashes().items():
                init.copy_(getattr(module, name), value)
        else:
            super()._init_weights(module)


class EmoMVPreTrainedModel(EmoMVBasePreTrainedModel):
    """
    Base class of the EmoMV models and the baseline: the standardiser and the two stream encoders
    (`encoder_class`), weight initialisation, input checks, and the one `forward` every model shares. A model
    class adds its head: `_head_outputs` turns the two embeddings into its scores and its matched/mismatched
    loss, `output_class` is the `ModelOutput` it returns.
    """

    config_class = EmoMVConfig
    config: EmoMVBaseConfig
    base_model_prefix = "emomv"
    encoder_class: type[nn.Module] = EmoMVEncoder
    output_class: type[EmoMVModelOutput]

    def __init__(self, config: EmoMVBaseConfig):
        super().__init__(config)
        self.standardizer = FeatureStandardizer(
            {"video": config.video_feature_size, "music": config.music_feature_size}
        )
        self.video_encoder = self.encoder_class(config, "video")
        self.music_encoder = self.encoder_class(config, "music")

    # -- input checks and standardisation ------------------------------------------------------------------------

    def prepare_inputs(
        self,
        video_features: Any = None,
        music_features: Any = None,
        labels: Any = None,
        video_emotion_labels: Any = None,
        music_emotion_labels: Any = None,
    ) -> dict[str, torch.Tensor]:
        """
        Check raw inputs once, where they enter (tensors, numpy arrays or sequences of rows such as a dataset
        column), and return them as `forward` keyword arguments on the model's device and dtype. Raises a
        `ValueError` (or `TypeError`) naming the argument: wrong width, NaN or inf, different batch sizes, labels
        out of range, or missing emotion labels for a multi-task loss. Arguments left `None` are left out.
        """
        config = self.config
        emotion_labels = {
            "video_emotion_labels": video_emotion_labels,
            "music_emotion_labels": music_emotion_labels,
        }
        missing = [name for name, values in emotion_labels.items() if values is None]
        if config.multi_task and labels is not None and missing:
            raise ValueError(
                f"{type(self).__name__} is multi-task (`config.multi_task=True`): computing the loss needs "
                f"{' and '.join(f'`{m}`' for m in missing)} as well as `labels`. Pass them (dataset columns "
                "`video_emotion` / `music_emotion`) or use a single-task config (`multi_task=False`)."
            )
        given = {"video": video_features, "music": music_features}
        return self.standardizer.check(
            {stream: values for stream, values in given.items() if values is not None},
            {
                "labels": (labels, 2),
                **{name: (values, config.num_emotions) for name, values in emotion_labels.items()},
            },
        )

    @torch.no_grad()
    def fit_standardization(self, video_features: Any, music_features: Any) -> None:
        """
        Fit the per-dimension mean and standard deviation of both raw feature streams (use the train split only)
        and store them in the model's buffers, so a saved model takes raw release features.

        Args:
            video_features: `(N, video_feature_size)` torch tensor, numpy array or sequence of rows
                (e.g. `dataset["video_features"]`).
            music_features: `(N, music_feature_size)`, same types. N may differ from the video N.
        """
        self.standardizer.fit(
            {"video": video_features, "music": music_features}, float(self.config.standardization_eps)
        )

    def _embed(self, features: torch.Tensor, stream: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Raw features of `stream` → (L2-normalised embeddings, emotion logits or None)."""
        encoder = self.video_encoder if stream == "video" else self.music_encoder
        return encoder(self.standardizer(features, stream))

    def _head_outputs(
        self,
        video_embeds: torch.Tensor,
        music_embeds: torch.Tensor,
        labels: torch.Tensor | None,
        emotion_logits: tuple[torch.Tensor | None, torch.Tensor | None],
        emotion_labels: tuple[torch.Tensor | None, torch.Tensor | None],
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, torch.Tensor | None]:
        """The head's output fields and, with `labels`, its unweighted matched/mismatched loss and its weighted
        extra loss term (or None). `emotion_logits` / `emotion_labels`: (video, music), each `(B, E)` / `(B,)`."""
        raise NotImplementedError

    @can_return_tuple
    def forward(
        self,
        video_features: torch.Tensor,
        music_features: torch.Tensor,
        labels: torch.LongTensor | None = None,
        video_emotion_labels: torch.LongTensor | None = None,
        music_emotion_labels: torch.LongTensor | None = None,
    ) -> EmoMVModelOutput:
        r"""
        Args:
            video_features (`torch.FloatTensor` of shape `(B, video_feature_size)`): raw SlowFast features.
            music_features (`torch.FloatTensor` of shape `(B, music_feature_size)`): raw VGGish features.
            labels (`torch.LongTensor` of shape `(B,)`, *optional*): 1 matched, 0 mismatched; gives `loss`.
            video_emotion_labels, music_emotion_labels (`torch.LongTensor` of shape `(B,)`, *optional*):
                emotion indices 0-4; required with `labels` for a multi-task model, ignored by a single-task one.
            return_dict (`bool`, *optional*): return a tuple when `False`.

        Inputs are trusted, as in transformers' models; check raw inputs once with [`prepare_inputs`].
        """
        video_embeds, video_emotion_logits = self._embed(video_features, "video")
        music_embeds, music_emotion_logits = self._embed(music_features, "music")
        head_outputs, match_loss, extra_loss = self._head_outputs(
            video_embeds,
            music_embeds,
            labels,
            (video_emotion_logits, music_emotion_logits),
            (video_emotion_labels, music_emotion_labels),
        )
        loss = video_emotion_loss = music_emotion_loss = None
        if match_loss is not None:
            config = self.config
            loss = config.match_loss_weight * match_loss
            if extra_loss is not None:
                loss = loss + extra_loss
            if config.multi_task:
                video_emotion_loss = F.cross_entropy(video_emotion_logits, video_emotion_labels)
                music_emotion_loss = F.cross_entropy(music_emotion_logits, music_emotion_labels)
                loss = (
                    loss
                    + config.video_emotion_loss_weight * video_emotion_loss
                    + config.music_emotion_loss_weight * music_emotion_loss
                )
        return self.output_class(
            loss=loss,
            video_embeds=video_embeds,
            music_embeds=music_embeds,
            video_emotion_logits=video_emotion_logits,
            music_emotion_logits=music_emotion_logits,
            match_loss=match_loss,
            video_emotion_loss=video_emotion_loss,
            music_emotion_loss=music_emotion_loss,
            extra_loss=extra_loss,
            **head_outputs,
        )


class EmoMVRetrievalMixin:
    """
    The retrieval API: `encode_stream` turns raw features of one stream into retrieval vectors, whose inner products
    (`pairwise_similarity`) rank a library; `retrieval_vectors` does it for embeddings a `forward` returned.
    """

    def retrieval_vectors(
        self, embeds: torch.Tensor, emotion_logits: torch.Tensor | None = None
    ) -> torch.FloatTensor:
        """One stream's embeddings `(N, D)` (and emotion logits `(N, E)`) → what `pairwise_similarity` compares:
        the embeddings themselves unless the model's `config.similarity` uses the predicted emotions."""
        return embeds

    def encode_stream(
        self, features: torch.Tensor, stream: str
    ) -> tuple[torch.FloatTensor, torch.FloatTensor | None]:
        """Raw features of `stream` (`"video"` or `"music"`) `(N, feature_size)` → its retrieval vectors `(N, D')`
        and predicted emotion probabilities `(N, E)` (`None` for a single-task model), in one pass."""
        embeds, emotion_logits = self._embed(features, stream)
        probabilities = None if emotion_logits is None else emotion_logits.softmax(dim=-1)
        return self.retrieval_vectors(embeds, emotion_logits), probabilities

    def pairwise_similarity(
        self, video_vectors: torch.Tensor, music_vectors: torch.Tensor
    ) -> torch.FloatTensor:
        """Similarity of every video `(N_v, D')` with every music segment `(N_m, D')` retrieval vector → `(N_v, N_m)`:
        their inner products."""
        return video_vectors @ music_vectors.t()


# ----------------------------------------------------------------------------------------------------------------
# Heads
# ----------------------------------------------------------------------------------------------------------------


class EmoMVFusionClassifier(nn.Module):
    """MCB fusion of the two embeddings, then Linear(fusion_hidden_size) → GELU → Linear(2)."""

    def __init__(self, config: EmoMVConfig):
        super().__init__()
        self.pooling = EmoMVCompactBilinearPooling(
            config.projection_size, config.projection_size, config.mcb_output_size, config.mcb_seed
        )
        self.dense = nn.Linear(config.mcb_output_size, config.fusion_hidden_size)
        self.activation = nn.GELU()
        self.out_proj = nn.Linear(config.fusion_hidden_size, 2)

    def forward(self, video_embeds: torch.Tensor, music_embeds: torch.Tensor) -> torch.Tensor:
        fused = self.pooling(video_embeds, music_embeds)
        return self.out_proj(self.activation(self.dense(fused)))


class EmoMVForCorrespondence(EmoMVPreTrainedModel):
    """
    EmoMV correspondence classifier (paper section 5.1, Figure 12): is a music-video pair matched in emotion?
    Video and music towers project into a common space, compact bilinear pooling fuses the embeddings, and a
    two-layer classifier predicts mismatched (0) / matched (1). Multi-task models also classify each stream's
    emotion. Every logit is divided by its `config.*_temperature` (1.0 until calibration fits it).
    `forward` returns an [`EmoMVCorrespondenceOutput`].
    """

    config_class = EmoMVConfig
    output_class = EmoMVCorrespondenceOutput

    def __init__(self, config: EmoMVConfig):
        super().__init__(config)
        self.classifier = EmoMVFusionClassifier(config)
        self.post_init()

    def _embed(self, features: torch.Tensor, stream: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As the base class's; the emotion logits divided by the stream's temperature (calibration)."""
        embeds, emotion_logits = super()._embed(features, stream)
        if emotion_logits is not None:
            emotion_logits = emotion_logits / getattr(self.config, f"{stream}_emotion_temperature")
        return embeds, emotion_logits

    def _head_outputs(self, video_embeds, music_embeds, labels, emotion_logits, emotion_labels):
        logits = self.classifier(video_embeds, music_embeds) / self.config.match_temperature
        return {"logits": logits}, None if labels is None else F.cross_entropy(logits, labels), None


class EmoMVForRetrieval(EmoMVRetrievalMixin, EmoMVPreTrainedModel):
    """
    EmoMV retrieval model (paper section 6.1): the correspondence model's towers without the fusion, trained with a
    contrastive loss on the cosine distance `1 - cos` of the L2-normalised embeddings (plus the emotion
    cross-entropies when multi-task, and optionally an in-batch supervised-contrastive loss). Pairs are scored by
    `config.similarity`: the embeddings' cosine (the paper), the dot product of the predicted emotion
    distributions, or a mix. Every score is the inner product of the two streams' retrieval vectors, so a music
    library is ranked for a video query by `encode_stream(v, "video")[0] @ encode_stream(M, "music")[0].T`
    (an exact inner-product index serves it). `forward` returns an [`EmoMVRetrievalOutput`].
    """

    config_class = EmoMVRetrievalConfig
    output_class = EmoMVRetrievalOutput

    def __init__(self, config: EmoMVRetrievalConfig):
        super().__init__(config)
        self.post_init()

    def retrieval_vectors(
        self, embeds: torch.Tensor, emotion_logits: torch.Tensor | None = None
    ) -> torch.FloatTensor:
        """
        One stream's embeddings `(N, D)` and emotion logits `(N, E)` → vectors whose inner products are the model's
        similarity: the embeddings (`cosine`, they are unit vectors), the emotion probabilities (`emotion`), or
        `[sqrt(1 - w) * embeds, sqrt(w) * probabilities]` (`mix`, `(N, D + E)`).
        """
        similarity = self.config.similarity
        if similarity == "cosine":
            return embeds
        probabilities = emotion_logits.softmax(dim=-1)
        if similarity == "emotion":
            return probabilities
        weight = float(self.config.emotion_similarity_weight)
        return torch.cat([math.sqrt(1.0 - weight) * embeds, math.sqrt(weight) * probabilities], dim=-1)

    def _head_outputs(self, video_embeds, music_embeds, labels, emotion_logits, emotion_labels):
        video_vectors = self.retrieval_vectors(video_embeds, emotion_logits[0])
        music_vectors = self.retrieval_vectors(music_embeds, emotion_logits[1])
        logits_per_video = self.pairwise_similarity(video_vectors, music_vectors)
        outputs = {
            "similarity": (video_vectors * music_vectors).sum(dim=-1),
            "logits_per_video": logits_per_video,
            "logits_per_music": logits_per_video.t(),
        }
        if labels is None:
            return outputs, None, None
        cosine = (video_embeds * music_embeds).sum(dim=-1)
        match_loss = contrastive_loss(1.0 - cosine, labels, self.config.contrastive_margin)
        extra_loss = None
        if self.config.supervised_contrastive_weight > 0:
            extra_loss = self.config.supervised_contrastive_weight * supervised_contrastive_loss(
                video_embeds,
                music_embeds,
                *emotion_labels,
                self.config.supervised_contrastive_temperature,
            )
        return outputs, match_loss, extra_loss
