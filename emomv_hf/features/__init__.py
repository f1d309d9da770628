"""Feature extraction from raw music videos: SlowFast R50 video (2304-d) and VGGish music (128-d) features
compatible with the EmoMV release, written as a Hub dataset folder for ``dataset_scripts/create_pairs.py``.

Needs the ``extract`` extra (PyAV, pytorchvideo, torchvision): ``pip install 'emomv-hf[extract]'``.

The names below are imported on first use, so that registering the extractor classes with the Auto classes
(on ``import emomv_hf``) does not import PyAV, torchvision and the extraction pipeline.
"""

from emomv_hf.lazy_imports import lazy_namespace

_EXPORTS = {
    "arguments": ("FeatureExtractionArguments",),
    "configuration_slowfast": ("SlowFastConfig",),
    "configuration_vggish": ("VGGishConfig",),
    "convert": (
        "load_extractor",
        "slowfast_from_zoo",
        "vggish_from_port",
    ),
    "extract": (
        "ExtractionFailure",
        "ExtractionSummary",
        "FeatureExtractionError",
        "MediaItem",
        "MediaSegment",
        "discover_segments",
        "extract_dataset",
        "list_media",
        "split_into_segments",
    ),
    "feature_extraction_vggish": ("VGGishFeatureExtractor",),
    "media": (
        "VGGISH_SAMPLE_RATE",
        "MediaError",
        "MediaInfo",
        "probe_media",
        "read_audio",
        "read_video_frames",
    ),
    "modeling_slowfast": (
        "SlowFastModel",
        "SlowFastModelOutput",
    ),
    "modeling_vggish": (
        "VGGishModel",
        "VGGishModelOutput",
    ),
    "processing_emomv": ("EmoMVProcessor",),
    "slowfast": (
        "SLOWFAST_FEATURE_DIM",
        "SlowFastExtractor",
        "preprocess_clip",
    ),
    "vggish": (
        "VGGISH_EMBEDDING_DIM",
        "MissingWeightsError",
        "VGGishExtractor",
        "log_mel_spectrogram",
        "mel_filterbank",
        "waveform_to_examples",
    ),
    "video_processing_slowfast": ("SlowFastVideoProcessor",),
}

__getattr__, __dir__, __all__ = lazy_namespace(__name__, globals(), _EXPORTS)
