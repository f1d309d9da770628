"""Feature extraction from raw music videos: SlowFast R50 video (2304-d) and VGGish music (128-d) features
compatible with the EmoMV release, written as a Hub dataset folder for ``dataset_scripts/create_pairs.py``.

Needs the ``extract`` extra (PyAV, pytorchvideo, torchvision): ``pip install 'emomv-hf[extract]'``. Import from
the submodules: :func:`.convert.load_extractor` (the one way to get an extractor), :mod:`.arguments`
(``ExtractorArguments``), :func:`.extract.extract_dataset`, :mod:`.media` (decoding). This package imports
nothing itself, so that registering the extractor classes with the Auto classes (on ``import emomv_hf``) does not
import PyAV, torchvision and the extraction pipeline.
"""
