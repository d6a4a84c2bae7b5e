"""Shared fixtures: the one place tests find ../shared, and a quiet, offline HF environment."""

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("HF_SEQ2SEQ_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (or $HF_SEQ2SEQ_SHARED/data); skips the test where it is absent.

    CI sets HF_SEQ2SEQ_REQUIRE_SHARED=1 so that a missing folder fails instead of skipping.
    """
    data = SHARED_DIR / "data"
    if not (data / "koen" / "train.tsv").is_file():
        if os.environ.get("HF_SEQ2SEQ_REQUIRE_SHARED") == "1":
            pytest.fail(f"shared data required but not found at {data}")
        pytest.skip(f"shared corpus not found at {data} (set HF_SEQ2SEQ_SHARED to its parent)")
    return data


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a module's tests (`pytestmark = pytest.mark.usefixtures(...)`): on
    a busy 2-core machine two threads wait on each other far longer than tiny models compute."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def hf_home(tmp_path, monkeypatch) -> Path:
    """An empty, writable HF_HOME so remote code is copied fresh and nothing leaks between tests."""
    home = tmp_path / "hf_home"
    home.mkdir()
    monkeypatch.setenv("HF_HOME", str(home))
    return home
