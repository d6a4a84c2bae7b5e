"""The quality recipe and the quick start end to end with a tiny budget: each leaves a loadable,
scored folder."""

import json
import os
import subprocess
import sys

from helpers import REPO_ROOT
from matplotlib.image import imread
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from hf_seq2seq_lstm.cli import load_translator, one_line
from hf_seq2seq_lstm.data import load_parallel_corpus

RECIPE = REPO_ROOT / "recipes" / "koen_cpu.sh"
ABLATION = REPO_ROOT / "recipes" / "koen_ablation.sh"
GPU_CHECK = REPO_ROOT / "benchmarks" / "gpu_check.sh"
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


def test_ablation_runs_the_named_rows_and_tabulates_their_curves_and_test_scores(tmp_path):
    env = dict(os.environ, RECIPE_MAX_STEPS="2", ABLATION_ROWS="lstm scheduled_sampling_two_pass")
    result = subprocess.run(
        ["bash", str(ABLATION), str(tmp_path),
         "--embedding_dim", "32", "--hidden_dim", "32", "--vocab_size", "600",
         "--num_beams", "2"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    two_pass = tmp_path / "scheduled_sampling_two_pass"
    flags = json.loads((two_pass / "training_args.json").read_text())
    assert flags["scheduled_sampling_mode"] == "two_pass" and flags["num_threads"] == 1
    assert flags["cell_type"] == "gru"  # the recipe's cell; the lstm row changes it
    assert json.loads((tmp_path / "lstm" / "training_args.json").read_text())["cell_type"] == "lstm"
    *lines, figure_line = result.stdout.splitlines()
    assert len(lines) == 2 + 7  # header, rule, one line per row
    assert figure_line == f"validation curves: {tmp_path / 'validation_curves.png'}"
    assert imread(tmp_path / "validation_curves.png").std() > 0.05
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    for folder, label in [
        ("lstm", "LSTM instead of GRU"),
        (two_pass.name, "scheduled sampling, linear 1.0 -> 0.75, `two_pass` mode"),
    ]:
        cells = [cell.strip() for cell in rows[label].strip("|").split("|")]
        results = json.loads((tmp_path / folder / "all_results.json").read_text())
        assert cells[1] == f"{results['epochs']:.1f}" and cells[-1] == f"{results['test_chrf']:.2f}"
        assert len(cells[3].split(", ")) == 1  # one validation, at the last of the 2 steps
    assert sum(line.endswith("| not run | | | | |") for line in lines) == 5

    refused = subprocess.run(
        ["bash", str(ABLATION), str(tmp_path / "other")],
        env=dict(env, ABLATION_ROWS="recipe beam"), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "unknown ablation row beam" in refused.stderr


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


def test_the_gpu_check_runs_its_three_measurements_with_a_tiny_budget_on_the_cpu(
    shared_data, tmp_path
):
    test_tsv = tmp_path / "test.tsv"
    rows = (shared_data / "koen" / "test.tsv").read_text(encoding="utf-8").splitlines()[:9]
    test_tsv.write_text("\n".join(rows) + "\n", encoding="utf-8")  # header + 8 pairs
    env = dict(
        os.environ,
        GPU_CHECK_DEVICE="cpu",
        GPU_CHECK_STEPS="2",
        GPU_CHECK_BENCH_FLAGS="--rounds 1 --steps_per_round 1 --warmup_steps 1 --hidden_dim 32",
        GPU_CHECK_TEST_TSV=str(test_tsv),
    )
    result = subprocess.run(
        ["bash", str(GPU_CHECK), str(tmp_path),
         "--embedding_dim", "32", "--hidden_dim", "32", "--vocab_size", "600",
         "--max_predict_samples", "16", "--num_threads", "1"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("device: CPU")
    bench = json.loads((tmp_path / "bench_train.json").read_text())
    assert bench["device"] == "cpu" and set(bench["systems"]) == {"reference", "fp32", "bf16"}
    results = json.loads((tmp_path / "train" / "all_results.json").read_text())
    assert results["train_steps"] == 2 and 0 <= results["test_chrf"] <= 100
    decode = json.loads((tmp_path / "decode.json").read_text())
    assert decode["sentences"] == 8 and decode["num_beams"] == 5
    assert decode["sentences_per_s"] > 0
