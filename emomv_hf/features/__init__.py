"""Feature extraction from raw music videos: SlowFast R50 video (2304-d) and VGGish music (128-d) features
compatible with the EmoMV release, written as a Hub dataset folder for ``dataset_scripts/create_pairs.py``.

Needs the ``extract`` extra (PyAV, pytorchvideo, torchvision): ``pip install 'emomv-hf[extract]'``.
"""

from .arguments import FeatureExtractionArguments
from .configuration_slowfast import SlowFastConfig
from .configuration_vggish import VGGishConfig
from .convert import load_extractor, slowfast_from_zoo, vggish_from_port
from .extract import (
    ExtractionFailure,
    ExtractionSummary,
    FeatureExtractionError,
    MediaItem,
    MediaSegment,
    discover_segments,
    extract_dataset,
    list_media,
    split_into_segments,
)
from .feature_extraction_vggish import VGGishFeatureExtractor
from .media import VGGISH_SAMPLE_RATE, MediaError, MediaInfo, probe_media, read_audio, read_video_frames
from .modeling_slowfast import SlowFastModel, SlowFastModelOutput
from .modeling_vggish import VGGishModel, VGGishModelOutput
from .processing_emomv import EmoMVProcessor
from .slowfast import SLOWFAST_FEATURE_DIM, SlowFastExtractor, preprocess_clip
from .vggish import (
    VGGISH_EMBEDDING_DIM,
    MissingWeightsError,
    VGGishExtractor,
    log_mel_spectrogram,
    mel_filterbank,
    waveform_to_examples,
)
from .video_processing_slowfast import SlowFastVideoProcessor

__all__ = [
    "SLOWFAST_FEATURE_DIM",
    "VGGISH_EMBEDDING_DIM",
    "VGGISH_SAMPLE_RATE",
    "EmoMVProcessor",
    "ExtractionFailure",
    "ExtractionSummary",
    "FeatureExtractionArguments",
    "FeatureExtractionError",
    "MediaError",
    "MediaInfo",
    "MediaItem",
    "MediaSegment",
    "MissingWeightsError",
    "SlowFastConfig",
    "SlowFastExtractor",
    "SlowFastModel",
    "SlowFastModelOutput",
    "SlowFastVideoProcessor",
    "VGGishConfig",
    "VGGishExtractor",
    "VGGishFeatureExtractor",
    "VGGishModel",
    "VGGishModelOutput",
    "discover_segments",
    "extract_dataset",
    "list_media",
    "load_extractor",
    "log_mel_spectrogram",
    "mel_filterbank",
    "preprocess_clip",
    "probe_media",
    "read_audio",
    "read_video_frames",
    "slowfast_from_zoo",
    "split_into_segments",
    "vggish_from_port",
    "waveform_to_examples",
]
