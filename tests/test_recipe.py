"""The quality recipe and the quick start end to end with a tiny budget: each leaves a loadable,
scored folder."""

import json
import os
import subprocess
import sys

from helpers import REPO_ROOT
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from hf_seq2seq_lstm.cli import load_translator, one_line
from hf_seq2seq_lstm.data import load_parallel_corpus

RECIPE = REPO_ROOT / "recipes" / "koen_cpu.sh"
QUICKSTART = REPO_ROOT / "scripts" / "quickstart.sh"


def test_recipe_runs_end_to_end_on_the_built_in_corpus_with_a_tiny_budget(tmp_path):
    out = tmp_path / "recipe"
    env = dict(os.environ, RECIPE_MAX_STEPS="3")
    result = subprocess.run(
        ["bash", str(RECIPE), str(out),
         "--embedding_dim", "32", "--hidden_dim", "32", "--vocab_size", "600",
         "--num_beams", "2", "--no_repeat_ngram_size", "2", "--num_threads", "1"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "recipe wall time" in result.stdout and "CPU:" in result.stdout
    results = json.loads((out / "all_results.json").read_text())
    assert results["train_steps"] == 3
    assert results["test_bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert 0 <= results["test_chrf"] <= 100
    assert sum(row["pairs"] for row in results["test_by_source"].values()) == 16
    assert json.loads((out / "run_info.json").read_text())["data"]["license"] == "cc-by-sa-4.0"
    assert len((out / "test_predictions.txt").read_text().splitlines()) == 16
    model = AutoModelForSeq2SeqLM.from_pretrained(out, trust_remote_code=True)
    tokenizer = AutoTokenizer.from_pretrained(out, trust_remote_code=True)
    assert model.generation_config.num_beams == 2
    assert model.generation_config.no_repeat_ngram_size == 2
    assert model.generate(**tokenizer("안녕하세요", return_tensors="pt")).shape[0] == 1
    # the recipe trains under bf16 autocast; its test translations are the users' (fp32)
    test_ko = load_parallel_corpus()["test"]["ko"][:16]
    translated = [t["translation_text"] for t in load_translator(str(out))(test_ko, batch_size=5)]
    # one line per sentence: line separators inside a translation become spaces, as in the CLI
    assert (out / "test_predictions.txt").read_text().splitlines() == [
        one_line(text) for text in translated
    ]


def test_recipe_refuses_a_missing_data_dir(tmp_path):
    result = subprocess.run(
        ["bash", str(RECIPE), str(tmp_path / "out"), str(tmp_path / "nowhere")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "train.tsv not found" in result.stderr


def test_the_quick_start_trains_scores_and_translates_with_a_tiny_budget(tmp_path):
    out = tmp_path / "quickstart"
    # VENV: the environment running the tests, so that setup finds everything installed.
    env = dict(os.environ, VENV=sys.prefix, OUT=str(out))
    result = subprocess.run(
        ["bash", str(QUICKSTART),
         "--max_train_steps", "2", "--eval_steps", "2", "--eval_max_samples", "8",
         "--max_predict_samples", "8", "--embedding_dim", "32", "--hidden_dim", "32",
         "--vocab_size", "600", "--num_beams", "2", "--num_threads", "1"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("quick start: ")
    assert len(lines) >= 6  # five translations (a 2-step model may print empty ones), the time
    results = json.loads((out / "all_results.json").read_text())
    assert results["train_steps"] == 2 and 0 <= results["test_chrf"] <= 100
    assert sum(row["pairs"] for row in results["test_by_source"].values()) == 8
    assert (out / "attention_quickstart.png").stat().st_size > 0
