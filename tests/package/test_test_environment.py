"""The test session's own caches: tests never write the user's Hugging Face cache."""

from __future__ import annotations

import os
from pathlib import Path

from emomv_hf.data.loading import local_cache_dir


def test_datasets_are_cached_under_the_sessions_hf_home(emomv_c_dir):
    # datasets computed its cache folder from HF_HOME at import, before conftest set a temporary one: without
    # conftest's patch every local folder a test loaded was cached in ~/.cache/huggingface (gigabytes), and a
    # script a test started as a process cached it again elsewhere.
    home = Path(os.environ["HF_HOME"])
    assert local_cache_dir(emomv_c_dir).is_relative_to(home / "datasets")
