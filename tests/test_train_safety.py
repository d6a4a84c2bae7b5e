"""train.py never loses or scrambles a model: refused overwrites, tokenizer-preserving resume,
named damaged checkpoints, and runs that cannot train refused with the flag's name."""

import json
import logging
import subprocess
import sys

import pytest
from helpers import REPO_ROOT, TINY, run_train

from hf_seq2seq_lstm import builtin_corpus_files
from hf_seq2seq_lstm.checkpoints import checkpoint_dirs


def test_a_finished_run_is_refused_then_replaced_only_with_overwrite_output_dir(tmp_path):
    out = tmp_path / "run"
    run_train(out, "--max_train_steps", "2", "--checkpointing_steps", "2", "--do_predict")
    (out / "my_notes.txt").write_text("not the run's")
    weights = (out / "model.safetensors").read_bytes()

    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "train.py"), *TINY, "--output_dir", str(out),
         "--max_train_steps", "3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    assert "--overwrite_output_dir" in result.stderr and "Traceback" not in result.stderr
    assert (out / "model.safetensors").read_bytes() == weights

    run_train(out, "--max_train_steps", "3", "--checkpointing_steps", "3", "--overwrite_output_dir")
    assert [path.name for path in checkpoint_dirs(out)] == ["checkpoint-3"]
    assert not (out / "test_predictions.txt").exists()  # the old run's, not this one's
    assert (out / "my_notes.txt").read_text() == "not the run's"
    assert (out / "model.safetensors").read_bytes() != weights


def test_resume_after_the_data_changed_keeps_every_token_id(tmp_path, caplog):
    sample = builtin_corpus_files("sample")
    lines = open(sample["train"], encoding="utf-8").read().splitlines()
    train_file = tmp_path / "train.tsv"
    train_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    data = ["--train_file", str(train_file), "--validation_file", sample["validation"]]
    run_train(out, *data, "--max_train_steps", "2", "--checkpointing_steps", "2")
    vocab = json.loads((out / "checkpoint-2" / "tokenizer" / "tokenizer.json").read_text())

    # Half the pairs replaced by others: a retrained BPE of the same size would differ.
    train_file.write_text("\n".join([lines[0], *lines[200:], *lines[1:100]]) + "\n")
    with caplog.at_level(logging.WARNING, logger="train"):
        run_train(out, *data, "--max_train_steps", "4", "--resume_from_checkpoint", "latest")
    assert "training data differ" in caplog.text
    assert json.loads((out / "tokenizer.json").read_text())["model"] == vocab["model"]


def test_a_damaged_checkpoint_is_named_and_latest_falls_back_to_an_intact_one(tmp_path, caplog):
    out = tmp_path / "run"
    run_train(out, "--max_train_steps", "4", "--checkpointing_steps", "2")
    damaged = out / "checkpoint-4" / "model.safetensors"
    damaged.write_bytes(damaged.read_bytes()[:1000])
    with pytest.raises(SystemExit, match=r"checkpoint-4.*model\.safetensors"):
        run_train(
            out, "--max_train_steps", "6", "--resume_from_checkpoint", str(out / "checkpoint-4")
        )
    assert damaged.stat().st_size == 1000  # left as it was
    with caplog.at_level(logging.INFO, logger="train"):
        results = run_train(out, "--max_train_steps", "6", "--resume_from_checkpoint", "latest")
    assert "skipping" in caplog.text and str(damaged) in caplog.text
    assert "resumed from" in caplog.text and "checkpoint-2 at step 2" in caplog.text
    assert results["train_steps"] == 6


def test_limits_that_drop_every_pair_are_refused_naming_the_flags(tmp_path):
    with pytest.raises(SystemExit, match="--max_source_length 1"):
        run_train(tmp_path / "run", "--max_train_steps", "2", "--max_source_length", "1")
