"""One processor for both EmoMV feature streams: VGGish's log-mel front end and SlowFast's clip preprocessing."""

from __future__ import annotations

from transformers.feature_extraction_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin

from .feature_extraction_vggish import VGGishFeatureExtractor
from .video_processing_slowfast import SlowFastVideoProcessor


class EmoMVProcessor(ProcessorMixin):
    r"""
    [`VGGishFeatureExtractor`] (music) and [`SlowFastVideoProcessor`] (video) in one processor: decoded media in,
    the inputs of [`VGGishModel`] (`input_features`, `attention_mask`) and [`SlowFastModel`]
    (`pixel_values_slow`, `pixel_values_fast`) out.

    Args:
        feature_extractor ([`VGGishFeatureExtractor`]): the music front end.
        video_processor ([`SlowFastVideoProcessor`]): the video front end.
    """

    def __init__(
        self,
        feature_extractor: VGGishFeatureExtractor | None = None,
        video_processor: SlowFastVideoProcessor | None = None,
        **kwargs,
    ) -> None:
        super().__init__(
            feature_extractor or VGGishFeatureExtractor(),
            video_processor or SlowFastVideoProcessor(),
            **kwargs,
        )

    def __call__(
        self,
        videos=None,
        audio=None,
        sampling_rate: int | None = None,
        return_tensors: str | None = "pt",
        **kwargs,
    ) -> BatchFeature:
        """``videos``: frames ``(T, H, W, 3)`` uint8 or a list of them; ``audio``: a waveform or a list of them at
        ``sampling_rate``. Either may be ``None``; the result holds the inputs of the streams given."""
        if videos is None and audio is None:
            raise ValueError("EmoMVProcessor needs `videos`, `audio` or both")
        data: dict = {}
        if videos is not None:
            data.update(self.video_processor(videos, return_tensors=return_tensors, **kwargs))
        if audio is not None:
            data.update(
                self.feature_extractor(audio, sampling_rate=sampling_rate, return_tensors=return_tensors)
            )
        return BatchFeature(data, tensor_type=return_tensors)
