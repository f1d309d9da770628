"""Feature extraction from raw music videos: SlowFast R50 video (2304-d) and VGGish music (128-d) features
compatible with the EmoMV release, for ``dataset_scripts/create_pairs.py``.

Needs the ``extract`` extra (PyAV, pytorchvideo, torchvision): ``pip install 'emomv-hf[extract]'``.
"""

from .arguments import FeatureExtractionArguments
from .extract import (
    ExtractionSummary,
    FeatureExtractionError,
    MediaSegment,
    discover_segments,
    extract_features,
    extract_folder,
    split_into_segments,
)
from .media import VGGISH_SAMPLE_RATE, MediaError, MediaInfo, probe_media, read_audio, read_video_frames
from .slowfast import SLOWFAST_FEATURE_DIM, SlowFastExtractor, build_slowfast_backbone, preprocess_clip
from .vggish import (
    VGGISH_EMBEDDING_DIM,
    MissingWeightsError,
    VGGish,
    VGGishExtractor,
    log_mel_spectrogram,
    mel_filterbank,
    waveform_to_examples,
)

__all__ = [
    "SLOWFAST_FEATURE_DIM",
    "VGGISH_EMBEDDING_DIM",
    "VGGISH_SAMPLE_RATE",
    "ExtractionSummary",
    "FeatureExtractionArguments",
    "FeatureExtractionError",
    "MediaError",
    "MediaInfo",
    "MediaSegment",
    "MissingWeightsError",
    "SlowFastExtractor",
    "VGGish",
    "VGGishExtractor",
    "build_slowfast_backbone",
    "discover_segments",
    "extract_features",
    "extract_folder",
    "log_mel_spectrogram",
    "mel_filterbank",
    "preprocess_clip",
    "probe_media",
    "read_audio",
    "read_video_frames",
    "split_into_segments",
    "waveform_to_examples",
]
