"""The public extractor checkpoints (:data:`SOURCES`, pickled state dicts whose keys the modeling files describe)
to transformers models, and converted checkpoint folders. :func:`load_extractor` opens a converted folder (or
builds a random-weight extractor): the one way to get an extractor.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from pathlib import Path

import torch

from ..io_utils import file_sha256, progress_bars_off
from .arguments import RANDOM_INIT_SEED
from .configuration_slowfast import SlowFastConfig
from .configuration_vggish import VGGishConfig
from .modeling_slowfast import SlowFastModel
from .modeling_vggish import VGGishModel
from .processing_emomv import EmoMVProcessor

logger = logging.getLogger(__name__)

SOURCES = {
    "vggish": (
        "vggish-10086976.pth",
        "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
    ),
    "slowfast": (
        "SLOWFAST_8x8_R50.pyth",
        "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/SLOWFAST_8x8_R50.pyth",
    ),
}
"""Model kind -> (public file name, where it is published)."""

RANDOM_MODELS = {"vggish": VGGishModel, "slowfast": SlowFastModel}
"""Extractor kind -> the model class :func:`load_extractor` builds for random weights."""


def _numpy_array_globals() -> list:
    """What unpickling a float numpy array calls, under numpy 1.x's and 2.x's module names: nothing that runs code."""
    import numpy as np

    reconstruct = np.zeros(0).__reduce__()[0]  # numpy's _reconstruct, wherever this numpy keeps it
    names = [(reconstruct, f"{module}.multiarray._reconstruct") for module in ("numpy.core", "numpy._core")]
    # A pickled dtype is rebuilt as np.dtype(...) and given its state: an instance of np.dtypes.Float64DType.
    return [np.ndarray, np.dtype, *{type(np.dtype(code)) for code in "fd"}, *names]


def read_state_dict(path: str | os.PathLike, numpy_arrays: bool = False) -> dict[str, torch.Tensor]:
    """Tensors of a pickled checkpoint (``weights_only``): a state dict, or the model zoo's ``{"model_state":
    state dict, ...}``; ``numpy_arrays`` lets numpy arrays in too (torchvggish's PCA file holds those)."""
    try:
        # Only where asked: the context manager is newer than the torch 2.1 other checkpoints load with.
        allowed = torch.serialization.safe_globals(_numpy_array_globals()) if numpy_arrays else nullcontext()
        with allowed:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: checkpoint not found") from None
    except Exception as error:  # unpickling errors of many kinds: all mean "not a checkpoint"
        raise ValueError(f"{path}: not a PyTorch checkpoint ({type(error).__name__}: {error})") from None
    if isinstance(state, dict) and isinstance(state.get("model_state"), dict):
        state = state["model_state"]
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def vggish_from_port(path: str | os.PathLike, pca_params: str | os.PathLike | None = None) -> VGGishModel:
    """A [`VGGishModel`] holding the weights of a torchvggish state dict (and PCA parameters when given)."""
    state = read_state_dict(path)
    model = VGGishModel(VGGishConfig(has_pca=pca_params is not None))
    if pca_params is not None:
        params = read_state_dict(pca_params, numpy_arrays=True)
        try:
            state["pca_eigen_vectors"] = torch.as_tensor(params["pca_eigen_vectors"]).float()
            state["pca_means"] = torch.as_tensor(params["pca_means"]).float().reshape(-1)
        except (KeyError, TypeError):
            raise ValueError(f"{pca_params}: expected keys pca_eigen_vectors and pca_means") from None
    return _loaded(model, state, path, "a state dict of the PyTorch VGGish port (features.N / embeddings.N)")


def slowfast_from_zoo(path: str | os.PathLike) -> SlowFastModel:
    """A [`SlowFastModel`] holding the weights of ``SLOWFAST_8x8_R50.pyth`` (or a plain ``slowfast_r50`` state
    dict); the classifier ``blocks.6.proj.*`` is dropped."""
    state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("blocks.6.proj.")}
    return _loaded(SlowFastModel(SlowFastConfig()), state, path, "a slowfast_r50 state dict")


def _loaded(model, state: dict[str, torch.Tensor], path: str | os.PathLike, expected: str):
    """``model`` holding ``state`` in eval mode; a state dict of other keys or shapes is a ValueError naming ``path``."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{path}: not {expected}: {error}") from None
    return model.eval()


def convert_checkpoint(
    kind: str,
    source: str | os.PathLike | None,
    output_dir: str | os.PathLike,
    *,
    pca_params: str | os.PathLike | None = None,
    repo_id: str | None = None,
) -> Path:
    """Convert a public checkpoint file into a self-contained folder ``output_dir``.

    Writes ``config.json``, ``model.safetensors``, the processor of both streams (``processor_config.json``:
    :class:`EmoMVProcessor`, so ``AutoProcessor.from_pretrained`` works on either folder), the model's own
    processor file (``preprocessor_config.json`` for VGGish, ``video_preprocessor_config.json`` for SlowFast)
    and a ``README.md`` model card naming the source file and its SHA-256. The folder appears complete or
    not at all (files are written into a staging folder and moved into place).

    Args:
        kind: ``"vggish"`` (``vggish-10086976.pth``) or ``"slowfast"`` (``SLOWFAST_8x8_R50.pyth``).
        source: the public checkpoint file; None writes random weights (seed ``RANDOM_INIT_SEED``, config
            ``random_weights=True``, a card that says so) to try the pipeline offline.
        output_dir: the checkpoint folder to write.
        pca_params: VGGish only: ``vggish_pca_params-970ea276.pth``, kept for :meth:`VGGishModel.postprocess`.
        repo_id: the Hub id the card's usage example names (default: the folder's name).
    """
    from ..cards.model_card import make_extractor_card
    from ..io_utils import atomic_write_dir
    from .feature_extraction_vggish import VGGishFeatureExtractor
    from .video_processing_slowfast import SlowFastVideoProcessor

    output_dir = Path(output_dir)
    if source is None:
        _, model = load_extractor(kind)
        extra = {"source_name": "", "source_sha256": "", "random_weights": True}
    else:
        source = Path(source)
        if not source.is_file():
            name, url = SOURCES[kind]
            raise FileNotFoundError(f"{source}: checkpoint not found (the public file is {name}, from {url})")
        model = vggish_from_port(source, pca_params) if kind == "vggish" else slowfast_from_zoo(source)
        extra = {"source_name": source.name, "source_sha256": file_sha256(source)}
    if pca_params is not None:
        extra |= {"extra_source_name": Path(pca_params).name, "extra_source_sha256": file_sha256(pca_params)}
    card = make_extractor_card(
        kind,
        model_class=type(model).__name__,
        num_parameters=model.num_parameters(),
        source_url=SOURCES[kind][1],
        repo_id=repo_id or output_dir.name,
        **extra,
    )

    def fill(folder: Path) -> None:
        model.save_pretrained(folder, safe_serialization=True)
        EmoMVProcessor().save_pretrained(folder)
        own = VGGishFeatureExtractor() if kind == "vggish" else SlowFastVideoProcessor()
        own.save_pretrained(folder)
        card.save(folder / "README.md")

    atomic_write_dir(output_dir, fill)
    logger.info("converted %s -> %s", source or "random weights", output_dir)
    return output_dir


def load_extractor(kind_or_folder: str | os.PathLike) -> tuple[EmoMVProcessor, VGGishModel | SlowFastModel]:
    """The processor and model of a feature extractor, the one way to get one.

    ``kind_or_folder``: a folder written by :func:`convert_checkpoint` (``AutoProcessor`` + ``AutoModel``; a
    ``Path`` opens a folder named ``vggish`` too), or the string ``"vggish"`` / ``"slowfast"`` for random weights
    from the fixed seed ``RANDOM_INIT_SEED`` (``--random-init``: tests only, the features mean nothing).
    The model is in eval mode on the CPU; ``model(**processor(audio=..., sampling_rate=...)).pooler_output`` is
    the segment feature (``videos=`` for SlowFast).
    """
    from huggingface_hub.errors import StrictDataclassError
    from transformers import AutoModel, AutoProcessor
    from transformers.utils import logging as transformers_logging

    if isinstance(kind_or_folder, str) and kind_or_folder in RANDOM_MODELS:
        logger.warning("%s uses RANDOM weights: the features are not meaningful", kind_or_folder)
        model_class = RANDOM_MODELS[kind_or_folder]
        torch.manual_seed(RANDOM_INIT_SEED)  # the same weights in every process and run
        return EmoMVProcessor(), model_class(model_class.config_class(random_weights=True)).eval()
    folder = Path(kind_or_folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder}: not a converted extractor checkpoint (no config.json); convert the public checkpoint "
            "with dataset_scripts/convert_weights.py"
        )
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # its table of missing tensors: refused below in one line
    try:
        # transformers' "Loading weights" bar would open under the caller's "extracting" bar; loading takes a second.
        with progress_bars_off("transformers"):
            model, info = AutoModel.from_pretrained(
                folder, ignore_mismatched_sizes=True, output_loading_info=True
            )
    except StrictDataclassError as error:  # a config.json field out of range
        raise ValueError(
            f"{folder / 'config.json'}: {' '.join(str(error.__cause__ or error).split())}"
        ) from None
    finally:
        transformers_logging.set_verbosity(verbosity)
    if not isinstance(model, (VGGishModel, SlowFastModel)):
        raise ValueError(f"{folder}: a {type(model).__name__} checkpoint, not a feature extractor")
    # transformers initialises such tensors at random and only logs them: the features would be noise.
    if bad := sorted(info["missing_keys"]) + sorted(key for key, *_ in info["mismatched_keys"]):
        raise ValueError(
            f"{folder}: weight {bad[0]} is missing from the checkpoint or not of the shape config.json makes "
            f"({len(bad)} tensor(s)): a damaged or edited folder; convert the public checkpoint again"
        )
    return AutoProcessor.from_pretrained(folder), model.eval()
