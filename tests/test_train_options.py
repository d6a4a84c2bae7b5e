"""train.py's quality and budget options: a wall-clock budget, chrF selection, checkpoint
averaging, BPE-dropout, per-source test scores, and the corpus shipped in the package."""

import argparse
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from helpers import REPO_ROOT, run_train, train_history
from safetensors.torch import load_file, load_model

import train
from hf_seq2seq_lstm import (
    Seq2SeqLSTMForConditionalGeneration,
    builtin_corpus_files,
    load_parallel_corpus,
    train_bpe_tokenizer,
)
from hf_seq2seq_lstm.checkpoints import SNAPSHOT_DIR, checkpoint_dirs


def read_json(path):
    return json.loads(Path(path).read_text())


def test_max_train_minutes_stops_on_time_finishes_the_run_and_resumes(tmp_path, monkeypatch):
    now = {"s": 0.0}

    def fake_clock():  # every reading is 20 s later: 3 steps fill one minute
        now["s"] += 20.0
        return now["s"]

    monkeypatch.setattr(train, "training_clock", fake_clock)
    out = tmp_path / "run"
    results = run_train(out, "--max_train_steps", "50", "--max_train_minutes", "1", "--do_predict")
    assert results["train_steps"] == 3
    for name in ("model.safetensors", "tokenizer.json", "all_results.json", "run_info.json",
                 "log_history.json", "training_curves.png", "test_predictions.txt"):  # fmt: skip
        assert (out / name).is_file(), name
    assert [path.name for path in checkpoint_dirs(out)] == ["checkpoint-3"]
    assert read_json(out / "log_history.json")[-1]["eval_chrf"] is not None  # last step scored
    assert read_json(out / "all_results.json")["test_chrf"] is not None

    results = run_train(
        out, "--max_train_steps", "50", "--max_train_minutes", "2",
        "--resume_from_checkpoint", "latest",
    )  # fmt: skip
    assert results["train_steps"] == 6  # the first minute counts: one more minute, 3 more steps
    assert [path.name for path in checkpoint_dirs(out)] == ["checkpoint-3", "checkpoint-6"]


def test_a_token_budget_sets_the_batches_of_an_epoch(tmp_path, monkeypatch):
    samplers = []

    class RecordedSampler(train.TokenBudgetBatchSampler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            samplers.append(self)

    monkeypatch.setattr(train, "TokenBudgetBatchSampler", RecordedSampler)
    results = run_train(
        tmp_path / "run", "--num_train_epochs", "1", "--max_tokens_per_batch", "300"
    )
    (sampler,) = samplers
    assert sampler.max_tokens == 300
    assert results["train_steps"] == len(sampler)
    assert results["epochs"] == 1
    assert len({len(batch) for batch in sampler.batches}) > 2  # not 16 sentences each


@pytest.mark.parametrize("metric", ["chrf", "bleu", "loss"])
def test_the_kept_step_is_the_best_by_the_chosen_metric(tmp_path, metric):
    out = tmp_path / "run"
    arguments = ["--max_train_steps", "10", "--eval_steps", "2", "--learning_rate", "3e-3"]
    if metric != "chrf":  # chrF is the default
        arguments += ["--metric_for_best_model", metric]
    results = run_train(out, *arguments, "--checkpointing_steps", "10")
    evaluations = [entry for entry in train_history(out) if "eval_chrf" in entry]
    assert [entry["step"] for entry in evaluations] == [2, 4, 6, 8, 10]
    scores = [entry[f"eval_{metric}"] for entry in evaluations]
    best = min(scores) if metric == "loss" else max(scores)
    assert results["best_step"] == evaluations[scores.index(best)]["step"]
    assert results[f"eval_{metric}"] == best


@pytest.mark.parametrize("by", ["last", "best"])
def test_checkpoint_averaging_averages_the_chosen_steps_and_keeps_the_better_model(tmp_path, by):
    out = tmp_path / "run"
    results = run_train(
        out, "--max_train_steps", "10", "--eval_steps", "2", "--learning_rate", "3e-3",
        "--average_checkpoints", "3", "--average_checkpoints_by", by,
        "--checkpointing_steps", "10",
    )  # fmt: skip
    evaluations = [entry for entry in train_history(out) if "eval_chrf" in entry]
    averaging = results["averaging"]
    if by == "last":
        assert averaging["steps"] == [6, 8, 10]
    else:
        ranked = sorted(evaluations, key=lambda entry: -entry["eval_chrf"])  # stable: ties early
        assert averaging["steps"] == sorted(entry["step"] for entry in ranked[:3])
    kept_files = sorted(path.name for path in (out / SNAPSHOT_DIR).iterdir())
    assert kept_files == sorted(
        ["averaged.safetensors", *(f"step-{step}.safetensors" for step in averaging["steps"])]
    )
    snapshots = [load_file(out / SNAPSHOT_DIR / f"step-{s}.safetensors") for s in averaging["steps"]]  # fmt: skip
    averaged = load_file(out / SNAPSHOT_DIR / "averaged.safetensors")
    for name, tensor in averaged.items():
        torch.testing.assert_close(tensor, torch.stack([w[name] for w in snapshots]).mean(0))
    best_single = max(entry["eval_chrf"] for entry in evaluations)
    assert averaging["kept"] == (averaging["eval_chrf"] >= best_single)
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(out)
    if averaging["kept"]:
        assert results["averaged_steps"] == averaging["steps"]
        assert results["eval_chrf"] == averaging["eval_chrf"]
        expected = Seq2SeqLSTMForConditionalGeneration(model.config)
        load_model(expected, str(out / SNAPSHOT_DIR / "averaged.safetensors"))
        for name, tensor in expected.state_dict().items():  # tied names saved once, either way
            torch.testing.assert_close(model.state_dict()[name], tensor)
    else:
        assert "averaged_steps" not in results


def test_bpe_dropout_batches_spell_the_same_text_and_the_saved_tokenizer_is_deterministic(
    tmp_path,
):
    corpus = load_parallel_corpus(builtin_corpus_files("sample"))
    tokenizer = train_bpe_tokenizer(corpus["train"], vocab_size=1500)
    collator = train.DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)
    args = argparse.Namespace(bpe_dropout=0.4, max_source_length=128, max_target_length=128)
    collate = train.bpe_dropout_collator(args, corpus["train"], tokenizer, collator)
    examples = [{"example_id": index} for index in range(8)]
    batches = [collate(examples) for _ in range(4)]
    assert any(not torch.equal(batches[0]["input_ids"], batch["input_ids"]) for batch in batches)
    for batch in batches:
        labels = batch["labels"].masked_fill(batch["labels"] == -100, tokenizer.pad_token_id)
        assert tokenizer.batch_decode(labels, skip_special_tokens=True) == corpus["train"]["en"][:8]
        assert (
            tokenizer.batch_decode(batch["input_ids"], skip_special_tokens=True)
            == (corpus["train"]["ko"][:8])
        )

    out = tmp_path / "run"
    run_train(out, "--max_train_steps", "3", "--bpe_dropout", "0.1")
    assert read_json(out / "tokenizer.json")["model"]["dropout"] is None
    assert read_json(out / "training_args.json")["bpe_dropout"] == 0.1


def test_test_scores_per_source_add_up_to_the_test_set(tmp_path):
    test_file = tmp_path / "test.tsv"
    rows = (REPO_ROOT / "hf_seq2seq_lstm" / "koen_data" / "test.tsv").read_text().splitlines()
    test_file.write_text("\n".join(rows[:41]) + "\n")  # header + 40 pairs
    results = run_train(
        tmp_path / "run", "--max_train_steps", "2", "--do_predict", "--test_file", str(test_file),
        "--train_file", str(builtin_corpus_files("sample")["train"]),
        "--validation_file", str(builtin_corpus_files("sample")["validation"]),
    )  # fmt: skip
    by_source = results["test_by_source"]
    expected = {}
    for line in rows[1:41]:
        source = line.split("\t")[2]
        expected[source] = expected.get(source, 0) + 1
    assert {source: row["pairs"] for source, row in by_source.items()} == expected
    assert read_json(tmp_path / "run" / "all_results.json")["test_by_source"] == by_source


@pytest.mark.slow
def test_the_koen_corpus_and_its_attribution_install_with_the_wheel(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside setup.py
    shutil.copytree(
        REPO_ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".*", "build", "outputs", "*.egg-info", "__pycache__", "docs"
        ),
    )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = wheels.glob("hf_seq2seq_lstm-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("train.tsv", "validation.tsv", "test.tsv", "tatoeba_attribution.tsv",
                 "LICENSE", "README.md"):  # fmt: skip
        assert f"hf_seq2seq_lstm/koen_data/{name}" in names
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    script = (
        "import hf_seq2seq_lstm, json\n"
        "corpus = hf_seq2seq_lstm.load_parallel_corpus()\n"
        "folder = hf_seq2seq_lstm.builtin_corpus_dir()\n"
        "print(json.dumps({'file': hf_seq2seq_lstm.__file__,\n"
        "  'counts': {k: len(v) for k, v in corpus.items()},\n"
        "  'attribution': (folder / 'tatoeba_attribution.tsv').is_file()}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
        cwd=tmp_path, env={"PYTHONPATH": str(site), "HF_DATASETS_OFFLINE": "1",
                           "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["file"].startswith(str(site))
    assert report["counts"] == {"train": 14468, "validation": 1000, "test": 1000}
    assert report["attribution"]


def test_fine_tuning_a_trained_folder_starts_from_its_weights_and_keeps_its_tokenizer(tmp_path):
    base = tmp_path / "base"
    run_train(base, "--max_train_steps", "3")
    sample = builtin_corpus_files("sample")
    tuned = tmp_path / "tuned"
    run_train(
        tuned, "--model_name_or_path", str(base), "--max_train_steps", "3", "--dropout", "0.2",
        "--train_file", sample["validation"], "--validation_file", sample["test"],
    )  # fmt: skip
    assert (tuned / "tokenizer.json").read_bytes() == (base / "tokenizer.json").read_bytes()
    before = Seq2SeqLSTMForConditionalGeneration.from_pretrained(base)
    after = Seq2SeqLSTMForConditionalGeneration.from_pretrained(tuned)
    assert after.config.dropout == 0.2 and before.config.dropout == 0.1
    assert after.config.hidden_dim == before.config.hidden_dim
    changed = [
        name
        for name, tensor in after.state_dict().items()
        if not torch.equal(tensor, before.state_dict()[name])
    ]
    assert changed and set(after.state_dict()) == set(before.state_dict())
    assert after.generate(input_ids=torch.tensor([[5, 6, 3]]), max_new_tokens=3).shape[0] == 1

    with pytest.raises(SystemExit, match="--hidden_dim 64 disagrees"):
        train.parse_args(["--model_name_or_path", str(base), "--hidden_dim", "64"])
    args = train.parse_args(["--config_name", str(base)])  # architecture of base, fresh weights
    assert (args.hidden_dim, args.num_layers, args.embedding_dim) == (32, 1, 32)


def test_long_pairs_are_truncated_when_asked_and_languages_other_than_ko_en_refused(tmp_path):
    limits = ["--max_source_length", "4", "--max_target_length", "4", "--max_train_steps", "2"]
    with pytest.raises(SystemExit, match="every training pair is longer"):
        run_train(tmp_path / "dropped", *limits)
    results = run_train(tmp_path / "cut", *limits, "--truncate_long_pairs")
    assert results["train_steps"] == 2
    with pytest.raises(SystemExit, match="Korean \\(ko\\) to English \\(en\\) only"):
        train.parse_args(["--source_lang", "ja"])
    assert train.parse_args(["--source_lang", "ko", "--target_lang", "en"]).source_lang == "ko"
