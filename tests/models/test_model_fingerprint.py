"""``io_utils.model_fingerprint``: the key of retrieval indexes and extraction shards, over a model's class, config
and tensors' bytes."""

from __future__ import annotations

import hashlib
import json

import torch

from emomv_hf.io_utils import model_fingerprint
from emomv_hf.models_registry import load_model

from .conftest import train_tiny_model


def test_fingerprint_is_the_bytes_of_every_tensor_and_takes_bfloat16(release_dir, tmp_path):
    model = train_tiny_model(release_dir, "retrieval", 2)
    # An independent digest of float32 tensors (numpy's bytes): fingerprints of existing indexes stay valid.
    digest = hashlib.sha256(type(model).__name__.encode())
    config = model.config.to_dict()
    for volatile in ("transformers_version", "_name_or_path", "architectures", "dtype", "torch_dtype"):
        config.pop(volatile, None)
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().numpy().tobytes())
    assert model_fingerprint(model) == digest.hexdigest()

    # A model saved in bfloat16 loads as bfloat16 (numpy has no such dtype): it gets a fingerprint of its own.
    model.to(torch.bfloat16).save_pretrained(tmp_path / "bf16")
    loaded = load_model(str(tmp_path / "bf16"))
    assert next(loaded.parameters()).dtype == torch.bfloat16
    assert model_fingerprint(loaded) == model_fingerprint(model) != digest.hexdigest()
