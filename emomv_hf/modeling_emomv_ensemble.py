"""A seed ensemble of EmoMV models: `ensemble_size` proposed models with their own weights, predicting as one."""

import math
from typing import Any

import torch
from torch import nn
from transformers.utils import can_return_tuple

from .configuration_emomv_ensemble import EmoMVEnsembleConfig
from .modeling_emomv import (
    EmoMVBasePreTrainedModel,
    EmoMVCorrespondenceOutput,
    EmoMVForCorrespondence,
    EmoMVForRetrieval,
    EmoMVModelOutput,
    EmoMVRetrievalMixin,
    EmoMVRetrievalOutput,
)


class EmoMVEnsemble(EmoMVRetrievalMixin, EmoMVBasePreTrainedModel):
    """
    `config.ensemble_size` proposed models (all correspondence or all retrieval, of `config.member_config`) with
    their own weights, predicting as one: a correspondence ensemble averages the members' matched/mismatched and emotion
    probabilities (`logits` are the log of the mean probabilities); a retrieval ensemble averages the members'
    similarities, via retrieval vectors that concatenate the members' ones scaled by `1 / sqrt(ensemble_size)`
    (its `video_embeds` / `music_embeds` outputs, so the mixin's identity `retrieval_vectors` and inner-product
    `pairwise_similarity` serve it). Its losses are the sums of the members' (so each member gets exactly its own
    gradients when the ensemble is trained as one model). `train.py --ensemble-size K` trains K seed runs and
    joins them with [`~EmoMVEnsemble.from_members`].
    """

    config_class = EmoMVEnsembleConfig
    config: EmoMVEnsembleConfig
    base_model_prefix = "emomv_ensemble"

    def __init__(self, config: EmoMVEnsembleConfig):
        super().__init__(config)
        member_class = EmoMVForRetrieval if config.task == "retrieval" else EmoMVForCorrespondence
        self.members = nn.ModuleList(member_class(config.member_config) for _ in range(config.ensemble_size))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Nothing of its own: each member initialises itself (as a standalone model would)."""

    @classmethod
    def from_members(
        cls, members: "list[EmoMVForCorrespondence] | list[EmoMVForRetrieval]"
    ) -> "EmoMVEnsemble":
        """An ensemble whose member i is a bit-exact copy of `members[i]` (e.g. models trained with different seeds),
        on their device, in their dtype and mode; all must have the same class and configuration."""
        first = members[0]
        for index, member in enumerate(members[1:], start=1):
            if type(member) is not type(first) or member.config.to_diff_dict() != first.config.to_diff_dict():
                raise ValueError(
                    f"members[{index}] ({type(member).__name__}) has another class or configuration than members[0] "
                    f"({type(first).__name__}); an ensemble's members share one."
                )
        # Not the first member's folder (a local path) in a config that a push publishes.
        member_config = {**first.config.to_dict(), "_name_or_path": ""}
        ensemble = cls(EmoMVEnsembleConfig(ensemble_size=len(members), member_config=member_config))
        for target, member in zip(ensemble.members, members, strict=True):
            target.load_state_dict(member.state_dict())
        return ensemble.to(first.device, first.dtype).train(first.training)

    def prepare_inputs(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """The members' [`EmoMVPreTrainedModel.prepare_inputs`] (they share one configuration)."""
        return self.members[0].prepare_inputs(*args, **kwargs)

    @torch.no_grad()
    def fit_standardization(self, video_features: Any, music_features: Any) -> None:
        """Fit every member's feature standardisation on the same (training) features."""
        for member in self.members:
            member.fit_standardization(video_features, music_features)

    def _joined(self, member_vectors: list[torch.Tensor]) -> torch.FloatTensor:
        """The members' vectors `(N, D')` concatenated and scaled, so inner products are mean member similarities."""
        return (1.0 / math.sqrt(len(member_vectors))) * torch.cat(member_vectors, dim=-1)

    def encode_stream(
        self, features: torch.Tensor, stream: str
    ) -> tuple[torch.FloatTensor, torch.FloatTensor | None]:
        """Raw features of `stream` → the ensemble's retrieval vectors `(N, ensemble_size * D')` and the members'
        mean emotion probabilities `(N, E)` (`None` for single-task members)."""
        encoded = [member.encode_stream(features, stream) for member in self.members]
        vectors, probabilities = zip(*encoded, strict=True)
        mean = None if probabilities[0] is None else torch.stack(probabilities).mean(dim=0)
        return self._joined(list(vectors)), mean

    @can_return_tuple
    def forward(
        self, video_features: torch.Tensor, music_features: torch.Tensor, **labels: torch.LongTensor | None
    ) -> EmoMVModelOutput:
        r"""
        Args: as [`EmoMVPreTrainedModel.forward`] (`labels`: `labels`, `video_emotion_labels`,
            `music_emotion_labels`, each `(B,)`, passed to every member).

        Returns the member's output class, fields as the class docstring says (`video_embeds` / `music_embeds`:
        `(B, ensemble_size * D')`).
        """
        outputs = [member(video_features, music_features, **labels) for member in self.members]
        fields: dict[str, torch.Tensor | None] = {}
        for name in ("loss", "match_loss", "video_emotion_loss", "music_emotion_loss", "extra_loss"):
            terms = [getattr(output, name) for output in outputs]
            fields[name] = None if terms[0] is None else torch.stack(terms).sum()
        for stream in ("video", "music"):
            embeds = [output[f"{stream}_embeds"] for output in outputs]
            logits = [output.get(f"{stream}_emotion_logits") for output in outputs]
            if self.config.task == "retrieval":  # the members' retrieval vectors (one config for all)
                vectors = self.members[0].retrieval_vectors
                embeds = [vectors(*pair) for pair in zip(embeds, logits, strict=True)]
            fields[f"{stream}_embeds"] = self._joined(embeds)
            fields[f"{stream}_emotion_logits"] = None if logits[0] is None else _log_mean_softmax(logits)
        if self.config.task == "retrieval":
            for name in ("similarity", "logits_per_video", "logits_per_music"):
                fields[name] = torch.stack([output[name] for output in outputs]).mean(dim=0)
            return EmoMVRetrievalOutput(**fields)
        return EmoMVCorrespondenceOutput(
            logits=_log_mean_softmax([output.logits for output in outputs]), **fields
        )


def _log_mean_softmax(logits: list[torch.Tensor]) -> torch.Tensor:
    """Log of the mean of the members' softmax probabilities: `(B, C)` logits whose softmax is that mean."""
    stacked = torch.stack(logits).log_softmax(dim=-1)
    return torch.logsumexp(stacked, dim=0) - math.log(len(logits))
