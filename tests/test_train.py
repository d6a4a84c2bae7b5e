"""train.py end to end: learning, resume, DDP on CPU, schedules reaching the model, bad input."""

import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import datasets
import pytest
import torch
from helpers import REPO_ROOT, SCRIPTS, TINY, run_train, run_without_package, train_history
from safetensors.torch import load_file

import train
from hf_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration, tokenization
from hf_seq2seq_lstm.checkpoints import TrainingState, checkpoint_dirs


def losses(output_dir):
    return [entry["loss"] for entry in train_history(output_dir) if "loss" in entry]


def test_tiny_run_on_the_shared_corpus_learns_and_loads_in_a_fresh_process(
    shared_data, tmp_path, hf_home
):
    koen = shared_data / "koen"
    out = tmp_path / "run"
    results = run_train(
        out,
        "--train_file", str(koen / "train.tsv"),
        "--validation_file", str(koen / "valid.tsv"),
        "--max_train_steps", "40", "--learning_rate", "3e-3", "--num_warmup_steps", "0",
        "--eval_max_samples", "16",
        "--checkpointing_steps", "40", "--dataset_license", "CC-BY-SA-4.0",
    )  # fmt: skip
    curve = losses(out)
    assert len(curve) == 40
    assert sum(curve[-5:]) / 5 < sum(curve[:5]) / 5 - 0.5  # it learns
    assert results["train_steps"] == 40 and results["eval_bleu"] is not None
    for name in ("model.safetensors", "tokenizer.json", "training_curves.png", "attention.png"):
        assert (out / name).is_file(), name
    log_history = json.loads((out / "log_history.json").read_text())
    at_checkpoint = train_history(out)
    assert log_history[: len(at_checkpoint)] == at_checkpoint
    assert log_history[-1]["step"] == 40 and log_history[-1]["eval_bleu"] == results["eval_bleu"]
    info = json.loads((out / "run_info.json").read_text())
    assert info["data"]["train_pairs"] == 14468 and info["data"]["license"] == "cc-by-sa-4.0"
    assert json.loads((out / "config.json").read_text())["teacher_forcing_ratio"] == 1.0

    result = run_without_package(
        SCRIPTS / "translate_check.py", str(out), "오늘 날씨가 좋네요.", hf_home=hf_home
    )
    assert result.returncode == 0, result.stderr
    translation = result.stdout.split("TRANSLATION:")[1].strip()
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(out)
    tokenizer = train.AutoTokenizer.from_pretrained(out)
    expected = model.generate(
        **tokenizer("오늘 날씨가 좋네요.", return_tensors="pt"), num_beams=1, max_new_tokens=8
    )
    assert translation == tokenizer.decode(expected[0], skip_special_tokens=True).strip()


def test_default_data_is_the_builtin_corpus_and_schedules_reach_the_model(tmp_path):
    out = tmp_path / "run"
    run_train(
        out,
        "--max_train_steps", "8", "--checkpointing_steps", "8",
        "--teacher_forcing_schedule", "linear", "--teacher_forcing_end", "0.5",
        "--scheduled_sampling_mode", "two_pass", "--curriculum", "--curriculum_steps", "4",
        "--mixed_precision", "bf16",
    )  # fmt: skip
    ratios = [entry["teacher_forcing_ratio"] for entry in train_history(out) if "loss" in entry]
    assert ratios[0] == 1.0 and ratios[-1] == pytest.approx(0.5)  # first and last steps
    assert ratios[4] == pytest.approx(1.0 - 0.5 * 4 / 7)
    assert all(a >= b for a, b in zip(ratios, ratios[1:], strict=False))
    info = json.loads((out / "run_info.json").read_text())
    assert info["data"]["sources"] == ["builtin:sample"] and info["data"]["license"] == "cc-by-4.0"
    config = json.loads((out / "config.json").read_text())
    assert config["teacher_forcing_ratio"] == 1.0  # inference value, not the schedule's


def test_a_second_run_on_the_same_data_takes_its_bpe_and_token_ids_from_the_cache(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    trainings, tokenized = [], []
    train_bpe, tokenize = tokenization.train_bpe_tokenizer, train.tokenize_datasets
    monkeypatch.setattr(
        tokenization,
        "train_bpe_tokenizer",
        lambda *args, **kwargs: trainings.append(1) or train_bpe(*args, **kwargs),
    )
    monkeypatch.setattr(
        train, "tokenize_datasets", lambda *args: tokenized.append(tokenize(*args)) or tokenized[-1]
    )
    # Only the output folder differs, as between a first run and its rerun.
    for name in ("first", "second"):
        run_train(tmp_path / name, "--max_train_steps", "1", "--eval_max_samples", "4")
    assert len(trainings) == 1
    first, second = tokenized
    assert set(first) == {"train", "validation", "test"}
    for split in first:  # the second run reads the first run's Arrow files
        assert second[split].cache_files == first[split].cache_files != []


class Interrupted(Exception):
    pass


def test_killed_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tmp_path, monkeypatch):
    # Evaluations at 4, 8, 12 and checkpoints at 5, 10: selection state crosses the resume.
    common = ["--max_train_steps", "12", "--checkpointing_steps", "5", "--eval_steps", "4",
              "--teacher_forcing_schedule", "linear",
              "--curriculum", "--curriculum_steps", "6"]  # fmt: skip
    run_train(tmp_path / "whole", *common)

    calls = {"n": 0}
    original_forward = Seq2SeqLSTMForConditionalGeneration.forward

    def crashing_forward(self, *args, **kwargs):
        if self.training:
            calls["n"] += 1
            if calls["n"] == 8:  # after checkpoint-5, before checkpoint-10
                raise Interrupted
        return original_forward(self, *args, **kwargs)

    monkeypatch.setattr(Seq2SeqLSTMForConditionalGeneration, "forward", crashing_forward)
    with pytest.raises(Interrupted):
        run_train(tmp_path / "resumed", *common)
    monkeypatch.undo()
    # A half-written checkpoint from the crash must never be picked up.
    (tmp_path / "resumed" / ".partial-checkpoint-10").mkdir()
    assert [p.name for p in checkpoint_dirs(tmp_path / "resumed")] == ["checkpoint-5"]
    run_train(tmp_path / "resumed", *common, "--resume_from_checkpoint", "latest")

    # The selected model, and the training state after the resume point.
    for weights in ("model.safetensors", "checkpoint-10/model.safetensors"):
        whole = load_file(tmp_path / "whole" / weights)
        resumed = load_file(tmp_path / "resumed" / weights)
        assert whole.keys() == resumed.keys()
        for key in whole:
            torch.testing.assert_close(resumed[key], whole[key], atol=1e-6, rtol=1e-5)
    assert train_history(tmp_path / "resumed") == train_history(tmp_path / "whole")
    results = [json.loads((tmp_path / run / "all_results.json").read_text())
               for run in ("whole", "resumed")]  # fmt: skip
    assert results[0]["best_step"] == results[1]["best_step"]


def test_two_process_ddp_on_cpu_completes_with_identical_weights_on_both_ranks(tmp_path):
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO_ROOT / "train.py"), *TINY, "--output_dir", str(tmp_path / "ddp"),
        "--max_train_steps", "6", "--eval_max_samples", "8", "--checkpointing_steps", "6",
        "--learning_rate", "1e-3", "--num_warmup_steps", "0",
    ]  # fmt: skip
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    digests = [line for line in result.stdout.splitlines() if line.startswith("rank ")]
    assert len(digests) == 2, result.stdout[-2000:]
    assert digests[0].split()[-1] == digests[1].split()[-1]
    assert "processes 2" in digests[0]
    assert result.stdout.count('"train_steps"') == 1  # the results, printed once (main process)
    assert (tmp_path / "ddp" / "model.safetensors").is_file()
    # The linear schedule spans the run's 6 optimizer steps, whatever the process count.
    rates = {e["step"]: e["learning_rate"] for e in train_history(tmp_path / "ddp") if "loss" in e}
    assert rates[3] == pytest.approx(0.5e-3) and rates[6] == pytest.approx(0.0)


@pytest.mark.slow
def test_cpu_launch_of_two_processes_that_starts_one_warns(tmp_path, hf_home):
    # hf_home: an empty one, so no accelerate config file of this machine changes the launch.
    out = tmp_path / "run"
    out.mkdir()
    # An old run there stops train.py right after the warning, before any training.
    (out / "all_results.json").write_text("{}")
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO_ROOT / "train.py"), *TINY, "--output_dir", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "already holds a training run" in result.stderr, result.stderr[-3000:]
    assert "asked for several processes but started only this one" in result.stderr
    assert "accelerate launch --multi_gpu --num_processes N" in result.stderr


@pytest.mark.parametrize(
    "environment,num_processes",
    [
        ({}, 1),  # python train.py
        ({"MASTER_PORT": "29500"}, 1),  # a cluster's variable, not accelerate launch's
        ({"ACCELERATE_MIXED_PRECISION": "no"}, 1),  # accelerate launch --num_processes 1
        ({"ACCELERATE_MIXED_PRECISION": "no", "MASTER_PORT": "29500", "WORLD_SIZE": "2"}, 2),
    ],
    ids=["python", "cluster-variable", "one-process-launch", "ddp"],
)
def test_no_missing_process_warning_where_every_process_asked_for_runs(
    monkeypatch, caplog, environment, num_processes
):
    for name in ("ACCELERATE_MIXED_PRECISION", "MASTER_PORT", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    train.warn_if_processes_were_not_started(SimpleNamespace(num_processes=num_processes))
    assert caplog.records == []


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["--cell_type", "rnn"], None),
        (["--train_file", "no/such/file.tsv"], "does not exist"),
        (
            [
                "--teacher_forcing_schedule",
                "linear",
                "--teacher_forcing_ratio",
                "0.5",
                "--teacher_forcing_end",
                "0.9",
            ],
            "must not exceed",
        ),  # fmt: skip
        (["--teacher_forcing_ratio", "1.5"], "teacher_forcing_ratio"),
        (["--checkpointing_steps", "often"], "checkpointing_steps"),
        (["--embedding_dim", "256"], "embedding_dim == hidden_dim"),  # tied by default
        (["--push_to_hub"], "hub_model_id"),
        (["--max_train_minutes", "0"], "--max_train_minutes"),
        (["--bpe_dropout", "1"], "--bpe_dropout"),
        (["--max_tokens_per_batch", "0"], "--max_tokens_per_batch"),
        (["--max_tokens_per_batch", "500", "--curriculum"], "--curriculum"),
        (["--average_checkpoints", "1"], "--average_checkpoints"),
        (["--metric_for_best_model", "rouge"], None),
        (["--builtin_corpus", "aihub"], None),
        (["--source_word_dropout", "1.0"], "source_word_dropout"),
        (["--num_train_epochs", "0"], "--num_train_epochs"),
        (["--max_train_steps", "0"], "--max_train_steps"),
        (["--logging_steps", "0"], "--logging_steps"),
        (["--checkpointing_steps", "0"], "--checkpointing_steps"),
        (["--eval_num_beams", "0"], "--eval_num_beams"),
        (["--learning_rate", "-0.001"], "--learning_rate"),
        (["--vocab_size", "100"], "--vocab_size"),
        (["--max_source_length", "0"], "--max_source_length"),
        (["--num_warmup_steps", "-1"], "--num_warmup_steps"),
        (["--per_device_eval_batch_size", "0"], "--per_device_eval_batch_size"),
    ],
)
def test_bad_arguments_fail_before_any_work(arguments, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as error:
        train.parse_args(["--output_dir", str(tmp_path / "never"), *arguments])
    text = str(error.value.code) + capsys.readouterr().err
    if message:
        assert message in text
    else:
        assert "invalid choice" in text
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("schedule", ["none", "linear"])
def test_teacher_forcing_ratio_is_the_first_steps_ratio_with_or_without_a_schedule(
    schedule, tmp_path
):
    args = train.parse_args(
        ["--output_dir", str(tmp_path), "--teacher_forcing_ratio", "0.9",
         "--teacher_forcing_schedule", schedule, "--teacher_forcing_end", "0.5"]
    )  # fmt: skip

    def ratio(step):
        return train.current_teacher_forcing_ratio(args, TrainingState(step=step), 11, 1)

    assert ratio(0) == 0.9
    assert ratio(10) == (0.9 if schedule == "none" else pytest.approx(0.5))


def test_the_old_scheduled_sampling_flags_warn_and_set_the_new_ones(tmp_path):
    output = ["--output_dir", str(tmp_path)]
    old = ["--scheduled_sampling", "linear", "--scheduled_sampling_start", "0.9",
           "--scheduled_sampling_end", "0.5"]  # fmt: skip
    new = ["--teacher_forcing_schedule", "linear", "--teacher_forcing_ratio", "0.9",
           "--teacher_forcing_end", "0.5"]  # fmt: skip
    with pytest.warns(FutureWarning) as warned:
        renamed = train.parse_args([*output, *old])
    assert [str(warning.message).split(" is deprecated")[0] for warning in warned] == old[::2]
    assert "use --teacher_forcing_ratio" in str(warned[1].message)
    assert vars(renamed) == vars(train.parse_args([*output, *new]))


def test_help_describes_every_flag_with_its_default(capsys):
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    text = capsys.readouterr().out
    entries = re.split(r"\n  (?=-)", text.split("options:", 1)[1])
    flags = [entry for entry in entries if entry.startswith("--")]
    assert len(flags) > 60
    for entry in flags:
        description = " ".join(entry.split()[2:])
        assert "(default:" in entry or entry.startswith("--help"), entry
        assert len(description.split("(default:")[0].split()) >= 3, entry  # words, not "E"
