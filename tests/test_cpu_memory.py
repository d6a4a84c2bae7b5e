"""CPU-only upkeep (oneDNN's cache bound, heap trimming, intra-op threads) runs on the CPU only."""

import os

import pytest
import torch
from accelerate.state import AcceleratorState

import train
from hf_seq2seq_lstm import cpu_memory

CACHE_VARIABLE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"


@pytest.fixture
def trims(monkeypatch):
    """The calls that would reach glibc's malloc_trim."""
    calls = []
    monkeypatch.setattr(cpu_memory, "_MALLOC_TRIM", calls.append)
    monkeypatch.delenv(CACHE_VARIABLE, raising=False)
    return calls


@pytest.mark.parametrize("device", ["cuda", "cuda:1", "mps", "xpu"])
def test_memory_upkeep_does_nothing_off_the_cpu(trims, device):
    cpu_memory.release_free_memory(torch.device(device))
    cpu_memory.bound_onednn_cache(torch.device(device))
    assert trims == [] and CACHE_VARIABLE not in os.environ


def test_memory_upkeep_trims_and_bounds_the_cache_on_the_cpu(trims, monkeypatch):
    cpu_memory.release_free_memory(torch.device("cpu"))
    cpu_memory.bound_onednn_cache(torch.device("cpu"))
    assert trims == [0] and os.environ[CACHE_VARIABLE] == cpu_memory.ONEDNN_CACHE_ENTRIES
    monkeypatch.setenv(CACHE_VARIABLE, "8")  # the user's setting wins
    cpu_memory.bound_onednn_cache(torch.device("cpu"))
    assert os.environ[CACHE_VARIABLE] == "8"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_train_sets_threads_and_the_onednn_cache_on_the_cpu_only(trims, monkeypatch, device):
    monkeypatch.setattr(train.Accelerator, "device", property(lambda self: torch.device(device)))
    threads = []
    monkeypatch.setattr(train.torch, "set_num_threads", threads.append)
    AcceleratorState._reset_state(reset_partial_state=True)
    try:
        train.start_accelerator(train.parse_args(["--num_threads", "1"]))
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)
    on_cpu = device == "cpu"
    assert threads == ([1] if on_cpu else [])
    assert (CACHE_VARIABLE in os.environ) == on_cpu
