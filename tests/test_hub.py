"""push_to_hub: the staged repository is complete, self-contained and safe to publish.

Nothing here reaches the Hub: dry runs stage folders locally, and the upload path is checked
against a recording stand-in for `HfApi` (or the real one in offline mode, for network failure).
"""

import dataclasses
import json
import logging
import re
import shutil
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
import yaml
from accelerate.state import AcceleratorState
from helpers import FAKE_TOKEN, SCRIPTS, RecordingHfApi, run_without_package, tiny_config
from transformers import AutoTokenizer

import push_to_hub
import train
from hf_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration, hub, model_card, quality
from hf_seq2seq_lstm.pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from hf_seq2seq_lstm.run_records import DataInfo, Results, RunInfo
from hf_seq2seq_lstm.tokenization import train_bpe_tokenizer

PACKAGE_DIR = Path(hub.__file__).parent
REMOTE_CODE_FILES = (
    "configuration_seq2seq_lstm.py",
    "modeling_seq2seq_lstm.py",
    "pipeline_seq2seq_lstm.py",
)
STAGED_FILES = sorted(
    [
        "README.md",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "training_curves.png",
        *REMOTE_CODE_FILES,
    ]
)
KO = ["안녕하세요.", "감사합니다.", "오늘 날씨가 좋네요.", "이것은 얼마예요?", "학교에 갑니다."]
KO += ["저는 커피를 좋아해요.", "지하철역이 어디예요?", "내일 다시 올게요.", "배가 고파요."]
EN = ["Hello.", "Thank you.", "The weather is nice today.", "How much is this?"]
EN += ["I go to school.", "I like coffee.", "Where is the subway station?"]
EN += ["I will come back tomorrow.", "I am hungry."]
SOURCES = ["오늘 날씨가 좋네요.", "지하철역이 어디예요?"]
RESULTS = {
    "eval_bleu": 3.14159,
    "eval_chrf": 20.25,
    "eval_bleu_signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
    "eval_chrf_signature": "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0",
    "test_bleu": 2.5,
    "test_chrf": 18.75,
    "test_bleu_signature": "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
    "test_chrf_signature": "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0",
    "num_beams": 5,
    "train_loss": 4.2,
    "train_runtime_s": 12.5,
    "train_steps": 10,
    "best_step": 8,
    "epochs": 1,
}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def write_json(path, value):
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A folder shaped like train.py's output, including files that must never be uploaded."""
    folder = tmp_path_factory.mktemp("run") / "ko-en-lstm"
    tokenizer = train_bpe_tokenizer(KO * 3 + EN * 3, vocab_size=300, min_frequency=1)
    torch.manual_seed(0)
    config = tiny_config(
        src_vocab_size=len(tokenizer),
        tgt_vocab_size=len(tokenizer),
        attention="luong",
        input_feeding=True,
    )
    Seq2SeqLSTMForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    data_dir = folder.parent / "private-data"
    write_json(
        folder / "training_args.json",
        {
            "train_file": [str(data_dir / "train.tsv")],
            "dataset_name": None,
            "output_dir": str(folder),
            "num_train_epochs": 1,
            "per_device_train_batch_size": 8,
            "learning_rate": 0.001,
            "lr_scheduler_type": "linear",
            "num_warmup_steps": 2,
            "cell_type": "lstm",
            "attention": "luong",
            "teacher_forcing_ratio": 1.0,
            "scheduled_sampling": "linear",
            "scheduled_sampling_start": 1.0,
            "scheduled_sampling_end": 0.75,
            "scheduled_sampling_unit": "step",
            "scheduled_sampling_mode": "two_pass",
            "curriculum": True,
            "curriculum_steps": 5,
            "curriculum_start": 0.5,
            "label_smoothing": 0.1,
            "seed": 42,
            "mixed_precision": "no",
            "eval_num_beams": 1,
            "eval_max_samples": 400,
            "metric_for_best_model": "chrf",
        },
    )
    Results.from_json(RESULTS).write(folder)
    RunInfo(
        package_version="0.1.0",
        torch_version=torch.__version__,
        transformers_version="5.24.0",
        tokenizer_sha256="0" * 64,
        data=DataInfo(
            sources=[str(data_dir / "train.tsv")], license="CC-BY-4.0", aihub=False, train_pairs=27
        ),
    ).write(folder)
    (folder / "training_curves.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "checkpoint-10").mkdir()
    (folder / "checkpoint-10" / "optimizer.bin").write_bytes(b"optimizer state")
    (folder / "test_predictions.txt").write_text("Hello.\n")
    (folder / "train.log").write_text("step 10 loss 4.2\n")
    return folder


def copy_run(trained_dir, destination, **run_info_data):
    """A copy of the trained folder whose run_info.json `data` fields are overridden."""
    shutil.copytree(trained_dir, destination)
    run_info = RunInfo.read(destination)
    dataclasses.replace(run_info, data=dataclasses.replace(run_info.data, **run_info_data)).write(
        destination
    )
    return destination


def update_json(path, **changes):
    write_json(path, {**json.loads(path.read_text(encoding="utf-8")), **changes})


def update_results(folder, **changes):
    """all_results.json with `changes` to its JSON fields, checked against `Results`."""
    Results.from_json({**Results.read(folder).to_json(), **changes}).write(folder)


def card_metadata(card_path):
    _, front_matter, body = card_path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(front_matter), body


@pytest.fixture
def no_saved_token(tmp_path, monkeypatch):
    """No token anywhere: no HF_TOKEN and no saved login."""
    for variable in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))


@pytest.fixture
def recording_api(monkeypatch):
    RecordingHfApi.calls = []
    monkeypatch.setattr(hub, "HfApi", RecordingHfApi)
    return RecordingHfApi.calls


def test_dry_run_stages_exactly_the_repository_files(trained_dir, tmp_path):
    push_to_hub.main(
        ["--model_dir", str(trained_dir), "--dry_run", "--local_dir", str(tmp_path / "staged")]
    )
    staged = tmp_path / "staged"
    assert sorted(path.name for path in staged.iterdir()) == STAGED_FILES
    for name in REMOTE_CODE_FILES:
        assert (staged / name).read_bytes() == (PACKAGE_DIR / name).read_bytes(), name
    assert (staged / "model.safetensors").read_bytes() == (
        trained_dir / "model.safetensors"
    ).read_bytes()
    # No local path (data files, output folder) leaks into any text file.
    for path in staged.iterdir():
        if path.suffix in (".json", ".md", ".py"):
            assert str(trained_dir.parent) not in path.read_text(encoding="utf-8"), path.name
    config = json.loads((staged / "config.json").read_text())
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"}
    assert config["custom_pipelines"]["translation"]["impl"] == (
        "pipeline_seq2seq_lstm.Seq2SeqLSTMTranslationPipeline"
    )
    assert [path.name for path in tmp_path.iterdir()] == ["staged"], "staging scratch left over"


def test_staged_config_is_written_by_save_pretrained_alone(trained_dir, tmp_path):
    # A config.json without the remote-code entries gets them from save_pretrained, the one
    # place that writes them: the staged file is the one the trained folder's writer wrote.
    run = copy_run(trained_dir, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    del config["auto_map"], config["custom_pipelines"]
    write_json(run / "config.json", config)
    staged = hub.stage_repository(run, tmp_path / "staged")
    assert (staged / "config.json").read_bytes() == (trained_dir / "config.json").read_bytes()


@pytest.mark.parametrize(
    "change,message",
    [({"num_layers": 3}, "does not match"), ({"hidden_dim": 32}, "cannot load the model")],
    ids=["weights-missing", "weights-mismatched"],
)
def test_weights_that_do_not_fit_the_config_are_never_staged(
    trained_dir, tmp_path, change, message
):
    # Loading fills weights missing from the file with random ones; that model must not ship.
    run = copy_run(trained_dir, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    write_json(run / "config.json", {**config, **change})
    with pytest.raises(hub.PublishError, match=message):
        hub.stage_repository(run, tmp_path / "staged")
    assert [path.name for path in tmp_path.iterdir()] == ["run"], "nothing staged, no scratch"


def test_model_card_metadata_parses_and_carries_metrics_licence_and_recipe(trained_dir, tmp_path):
    staged = hub.stage_repository(trained_dir, tmp_path / "staged", repo_id="alice/ko-en-lstm")
    metadata, body = card_metadata(staged / "README.md")
    assert metadata["language"] == ["ko", "en"]
    assert metadata["license"] == "cc-by-4.0"  # the training data's, lower-cased for the Hub
    assert metadata["pipeline_tag"] == "translation"
    assert metadata["library_name"] == "transformers"
    assert metadata["inference"] is False
    assert {"translation", "lstm", "custom_code"} <= set(metadata["tags"])
    (model_index,) = metadata["model-index"]
    assert model_index["name"] == "alice/ko-en-lstm"
    scores = {
        (result["dataset"]["split"], metric["type"]): (metric["value"], metric.get("config"))
        for result in model_index["results"]
        for metric in result["metrics"]
    }
    assert scores == {
        ("validation", "bleu"): (3.14, RESULTS["eval_bleu_signature"]),
        ("validation", "chrf"): (20.25, RESULTS["eval_chrf_signature"]),
        ("test", "bleu"): (2.5, RESULTS["test_bleu_signature"]),
        ("test", "chrf"): (18.75, RESULTS["test_chrf_signature"]),
    }
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(trained_dir)
    assert f"| Parameters | {sum(p.numel() for p in model.parameters()):,} |" in body
    assert "| Cell | LSTM |" in body and "| Input feeding | yes |" in body
    assert "linear decay of the ratio from 1.0 to 0.75 per step, two_pass mode" in body
    assert "over 5 steps" in body
    assert "| Kept model | step 8 (best validation chrF) |" in body
    assert "`train.tsv` (local data)" in body
    assert RESULTS["test_bleu_signature"] in body
    # each split's decoding as the run did it: validation greedy on its first pairs (selection)
    assert "| validation | 3.14 | 20.25 | greedy, first 400 pairs |" in body
    assert "| test | 2.50 | 18.75 | beam 5 |" in body
    assert f"transformers>={model_card.min_transformers_version()}" in body
    assert model_card.min_transformers_version() == "5.24"
    assert 'pipeline("translation", model="alice/ko-en-lstm", trust_remote_code=True)' in body
    assert 'AutoModel.from_pretrained("alice/ko-en-lstm", trust_remote_code=True)' in body
    assert "## Limitations" in body
    assert "![Training curves](training_curves.png)" in body
    assert "attention.png" not in body  # absent from the run, so not referenced


def test_card_opens_with_the_test_scores_and_says_plainly_when_they_are_low(trained_dir, tmp_path):
    _, body = card_metadata(hub.stage_repository(trained_dir, tmp_path / "staged") / "README.md")
    title, scores, verdict, _ = body.strip().split("\n\n", 3)
    assert title == "# ko-en-lstm"
    assert scores == (
        "**Measured scores:** test BLEU 2.50, chrF 18.75 (sacreBLEU, beam 5; see Evaluation)."
    )
    assert verdict.startswith("> **A teaching model, not a translator.** Its test chrF is under 20")


@pytest.mark.parametrize(
    "results,scores",
    [
        ({"test_chrf": 45.5}, "test BLEU 2.50, chrF 45.50 (sacreBLEU, beam 5;"),
        (
            {"test_bleu": None, "test_chrf": None},
            "validation BLEU 3.14, chrF 20.25 (sacreBLEU, greedy, first 400 pairs;",
        ),
    ],
    ids=["good-test-scores", "validation-only"],
)
def test_scores_at_or_above_chrf_20_carry_no_warning(trained_dir, tmp_path, results, scores):
    run = copy_run(trained_dir, tmp_path / "run")
    update_results(run, **results)
    _, body = card_metadata(hub.stage_repository(run, tmp_path / "staged") / "README.md")
    assert f"**Measured scores:** {scores}" in body
    assert "teaching model" not in body


def test_scores_are_read_from_run_records_or_a_model_card_and_never_fail(
    trained_dir, tmp_path, monkeypatch
):
    expected = quality.Scores("test", 2.5, 18.75)
    assert quality.read_scores(str(trained_dir)) == expected
    staged = hub.stage_repository(trained_dir, tmp_path / "staged")
    assert quality.read_scores(str(staged)) == expected  # from the card's model-index
    (tmp_path / "bare").mkdir()
    assert quality.read_scores(str(tmp_path / "bare")) is None
    # A Hub repository's card, as a Space reads it: here from a filled cache, offline.
    cache = tmp_path / "hub-cache"
    repo = cache / "models--alice--ko-en-lstm"
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    shutil.copyfile(staged / "README.md", repo / "snapshots" / COMMIT / "README.md")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    assert quality.read_scores("alice/ko-en-lstm") == expected
    assert quality.read_scores("alice/not-downloaded") is None  # offline: no card to fetch


@pytest.mark.parametrize(
    "metric,results,kept",
    [
        ("bleu", {}, "| Kept model | step 8 (best validation BLEU) |"),
        (
            "chrf",
            {
                "averaging": {"steps": [6, 8, 10], "kept": True, "eval_chrf": 21.5},
                "averaged_steps": [6, 8, 10],
                "best_step": 10,
            },
            "| Kept model | the average of the weights of steps 6, 8, 10: its validation chrF "
            "(21.50) was at least as good as the best single step's |",
        ),
        (
            "chrf",
            {"averaging": {"steps": [6, 8, 10], "kept": False, "eval_chrf": 19.0}},
            "| Kept model | step 8 (best validation chrF); the average of steps 6, 8, 10 scored "
            "worse: 19.00 against 20.25, and was not kept |",
        ),
        (
            "loss",
            {"averaging": {"steps": [], "kept": False}},
            "| Kept model | step 8 (best validation loss); checkpoint averaging was on but had "
            "fewer than 2 evaluated steps to average |",
        ),
    ],
    ids=["bleu", "averaged", "average-not-kept", "averaging-skipped"],
)
def test_card_names_the_selection_metric_and_the_checkpoint_averaging(
    trained_dir, tmp_path, metric, results, kept
):
    run = copy_run(trained_dir, tmp_path / "run")
    update_json(run / "training_args.json", metric_for_best_model=metric)
    update_results(run, **results)
    _, body = card_metadata(hub.stage_repository(run, tmp_path / "staged") / "README.md")
    assert kept in body
    if results.get("averaged_steps"):
        assert "(validation: the kept model, the average of steps 6, 8, 10):" in body
    else:
        assert "(validation: the kept checkpoint, step 8):" in body


def test_card_reads_the_teacher_forcing_flags_by_their_new_names_too(trained_dir, tmp_path):
    run = copy_run(trained_dir, tmp_path / "run")
    args = json.loads((run / "training_args.json").read_text())
    for renamed in ("scheduled_sampling", "scheduled_sampling_start", "scheduled_sampling_end"):
        del args[renamed]  # the fixture's records carry the old names
    renamed = {"teacher_forcing_schedule": "linear", "teacher_forcing_end": 0.5}
    write_json(run / "training_args.json", {**args, **renamed, "teacher_forcing_ratio": 0.9})
    _, body = card_metadata(hub.stage_repository(run, tmp_path / "staged") / "README.md")
    assert "linear decay of the ratio from 0.9 to 0.5 per step, two_pass mode" in body


def test_card_tables_test_scores_by_source_naming_local_data_by_base_name(trained_dir, tmp_path):
    run = copy_run(trained_dir, tmp_path / "run")
    by_source = {
        "tatoeba": {"pairs": 120, "bleu": 8.5, "chrf": 27.25},
        # a local dataset folder's pairs carry its path as their source
        str(tmp_path / "corpora" / "news"): {"pairs": 1500, "bleu": 1.0, "chrf": 15.5},
    }
    update_results(run, test_by_source=by_source)
    _, body = card_metadata(hub.stage_repository(run, tmp_path / "staged") / "README.md")
    assert "| Source | Pairs | BLEU | chrF |" in body
    assert "| tatoeba | 120 | 8.50 | 27.25 |" in body
    assert "| news | 1,500 | 1.00 | 15.50 |" in body
    assert str(tmp_path / "corpora") not in body
    _, without = card_metadata(hub.stage_repository(trained_dir, tmp_path / "plain") / "README.md")
    assert "| Source |" not in without


@pytest.mark.slow
def test_a_real_train_run_stages_with_its_figures_and_the_builtin_corpus_licence(tmp_path):
    AcceleratorState._reset_state(reset_partial_state=True)  # train.main is a fresh "process"
    run = tmp_path / "run"
    train.main(
        [
            *("--builtin_corpus", "sample", "--embedding_dim", "16", "--hidden_dim", "16"),
            *("--num_layers", "1"),
            *("--vocab_size", "300", "--num_threads", "1", "--num_beams", "1"),
            *("--max_train_steps", "2", "--do_predict", "--output_dir", str(run)),
        ]
    )
    staged = hub.stage_repository(run, tmp_path / "staged", repo_id="alice/ko-en-lstm")
    assert sorted(path.name for path in staged.iterdir()) == sorted(
        [*STAGED_FILES, "attention.png"]
    )
    metadata, body = card_metadata(staged / "README.md")
    assert metadata["license"] == "cc-by-4.0"
    results = json.loads((run / "all_results.json").read_text())
    (model_index,) = metadata["model-index"]
    values = {
        (result["dataset"]["split"], metric["type"]): metric["value"]
        for result in model_index["results"]
        for metric in result["metrics"]
    }
    assert values[("test", "bleu")] == round(results["test_bleu"], 2)
    assert values[("validation", "chrf")] == round(results["eval_chrf"], 2)
    assert "built-in sample corpus" in body and "![Attention weights](attention.png)" in body
    # train.py's default --metric_for_best_model, and its per-source test scores
    assert f"| Kept model | step {results['best_step']} (best validation chrF) |" in body
    assert results["test_by_source"]
    for source, row in results["test_by_source"].items():
        assert f"| {Path(source).name} | {row['pairs']:,} | {row['bleu']:.2f} |" in body


@pytest.mark.parametrize("kind", ["hub", "local-folder"])
def test_card_links_hub_datasets_and_names_local_data_by_base_name_only(
    trained_dir, tmp_path, kind
):
    dataset = "Helsinki-NLP/opus-100" if kind == "hub" else str(tmp_path / "corpora" / "koen")
    if kind == "local-folder":
        Path(dataset).mkdir(parents=True)
    run = copy_run(trained_dir, tmp_path / "run", sources=[dataset])
    args = json.loads((run / "training_args.json").read_text())
    write_json(run / "training_args.json", {**args, "train_file": None, "dataset_name": dataset})
    staged = hub.stage_repository(run, tmp_path / "staged")
    metadata, body = card_metadata(staged / "README.md")
    if kind == "hub":
        assert metadata["datasets"] == [dataset]
        assert f"(https://huggingface.co/datasets/{dataset})" in body
    else:
        assert "datasets" not in metadata
        # The dataset folder's path; the dry run's snippets name the staged folder itself.
        assert "`koen` (local data)" in body and str(tmp_path / "corpora") not in body


@pytest.mark.slow
def test_staged_folder_translates_identically_without_the_package(trained_dir, tmp_path, hf_home):
    staged = hub.stage_repository(trained_dir, tmp_path / "staged")
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(trained_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(trained_dir)
    inputs = tokenizer(SOURCES, return_tensors="pt", padding=True)
    ids = model.generate(**inputs, num_beams=1, max_new_tokens=8)
    translator = Seq2SeqLSTMTranslationPipeline(model=model, tokenizer=tokenizer)
    texts = [
        output["translation_text"] for output in translator(SOURCES, num_beams=1, max_new_tokens=8)
    ]
    assert any(texts), "an all-empty translation would make the comparison vacuous"
    write_json(
        tmp_path / "expected.json", {"sources": SOURCES, "ids": ids.tolist(), "texts": texts}
    )
    result = run_without_package(
        SCRIPTS / "remote_translation_check.py",
        str(staged),
        str(tmp_path / "expected.json"),
        hf_home=hf_home,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "remote translation ok" in result.stdout


@pytest.mark.slow
def test_dry_run_card_usage_runs_as_written_against_the_staged_folder(
    trained_dir, tmp_path, hf_home
):
    staged = tmp_path / "staged"
    push_to_hub.main(["--model_dir", str(trained_dir), "--dry_run", "--local_dir", str(staged)])
    _, body = card_metadata(staged / "README.md")
    assert model_card.PLACEHOLDER_REPO_ID not in body
    snippets = re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)
    assert len(snippets) == 2 and all(str(staged) in snippet for snippet in snippets)
    (tmp_path / "usage.py").write_text("\n".join(snippets), encoding="utf-8")
    # As a reader would run it: offline, through the remote code, without the package.
    result = run_without_package(str(tmp_path / "usage.py"), hf_home=hf_home)
    assert result.returncode == 0, result.stdout + result.stderr
    generated, piped = result.stdout.splitlines()
    assert re.fullmatch(r"\[('.*'|\".*\")\]", generated), generated
    assert piped.count("'translation_text'") == 2, piped


@pytest.mark.parametrize(
    "explicit,data_license,expected",
    [("Apache-2.0", "CC-BY-4.0", "apache-2.0"), (None, "CC-BY-4.0", "cc-by-4.0")],
)
def test_explicit_licence_wins_over_the_data_licence(
    trained_dir, tmp_path, explicit, data_license, expected
):
    run = copy_run(trained_dir, tmp_path / "run", license=data_license)
    staged = hub.stage_repository(run, tmp_path / "staged", license=explicit)
    assert card_metadata(staged / "README.md")[0]["license"] == expected


def test_unknown_licence_stops_and_asks_for_one(trained_dir, tmp_path):
    run = copy_run(trained_dir, tmp_path / "run", license=None)
    with pytest.raises(SystemExit, match="pass --license"):
        push_to_hub.main(
            ["--model_dir", str(run), "--dry_run", "--local_dir", str(tmp_path / "staged")]
        )
    assert not (tmp_path / "staged").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"aihub": True},
        {"aihub": False, "sources": ["/data/aihub/1_구어체(1).xlsx"]},
    ],
    ids=["flag", "file-name"],
)
def test_aihub_data_is_warned_about_before_anything_is_uploaded(
    trained_dir, tmp_path, caplog, recording_api, data
):
    run = copy_run(trained_dir, tmp_path / "run", **data)
    caplog.set_level(logging.WARNING, logger=hub.__name__)
    hub_calls_when_warned = []

    def note_hub_calls(record):
        if record.name == hub.__name__:
            hub_calls_when_warned.append(len(recording_api))
        return True

    caplog.handler.addFilter(note_hub_calls)
    hub.publish(run, "alice/ko-en-lstm", token=FAKE_TOKEN)
    warnings = [record.getMessage() for record in caplog.records if record.name == hub.__name__]
    assert len(warnings) == 1 and "AI Hub" in warnings[0] and "redistribution" in warnings[0]
    assert hub_calls_when_warned == [0], "the warning must come before any Hub call"


def test_upload_creates_the_repo_and_commits_the_staged_folder_once(
    trained_dir, tmp_path, recording_api, capsys, caplog
):
    caplog.set_level(logging.DEBUG)
    push_to_hub.main(
        [
            *("--model_dir", str(trained_dir), "--repo_id", "alice/ko-en-lstm"),
            *("--private", "--revision", "v1", "--commit_message", "First model"),
            *("--token", FAKE_TOKEN, "--local_dir", str(tmp_path / "kept")),
        ]
    )
    names = [name for name, _ in recording_api]
    assert names == ["init", "create_repo", "create_branch", "upload_folder"]
    calls = dict(recording_api)
    assert calls["init"] == {"token": FAKE_TOKEN}
    assert calls["create_repo"] == {
        "repo_id": "alice/ko-en-lstm",
        "private": True,
        "exist_ok": True,
    }
    assert calls["create_branch"] == {
        "repo_id": "alice/ko-en-lstm",
        "branch": "v1",
        "exist_ok": True,
    }
    upload = calls["upload_folder"]
    assert upload["repo_id"] == "alice/ko-en-lstm"
    assert upload["revision"] == "v1" and upload["commit_message"] == "First model"
    assert upload["files"] == STAGED_FILES
    # The uploaded files are kept in --local_dir once the upload succeeded.
    assert sorted(path.name for path in (tmp_path / "kept").iterdir()) == STAGED_FILES
    output = capsys.readouterr()
    assert FAKE_TOKEN not in output.out + output.err + caplog.text
    for path in (tmp_path / "kept").iterdir():
        assert FAKE_TOKEN.encode() not in path.read_bytes(), path.name


def test_train_push_to_hub_hook_uploads_with_the_data_licence(trained_dir, recording_api):
    hub.push_model_dir(trained_dir, "alice/ko-en-lstm", token=FAKE_TOKEN)
    upload = dict(recording_api)["upload_folder"]
    assert upload["repo_id"] == "alice/ko-en-lstm" and upload["files"] == STAGED_FILES


def test_token_comes_from_hf_token_when_not_passed(trained_dir, recording_api, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    hub.publish(trained_dir, "alice/ko-en-lstm")
    assert recording_api[0] == ("init", {"token": FAKE_TOKEN})


@pytest.mark.parametrize(
    "repo_id", ["ko-en-lstm", "alice/bob/ko-en-lstm", "alice/ko en", "alice/-bad", "alice/a--b"]
)
def test_malformed_repo_id_is_rejected_before_any_work(
    trained_dir, tmp_path, repo_id, recording_api
):
    with pytest.raises(hub.PublishError, match='invalid repo_id.*"owner/name"'):
        hub.publish(trained_dir, repo_id, token=FAKE_TOKEN, local_dir=tmp_path / "kept")
    assert recording_api == [] and not (tmp_path / "kept").exists()


def test_missing_token_is_a_clear_error(trained_dir, tmp_path, no_saved_token, recording_api):
    with pytest.raises(SystemExit, match="no Hugging Face token: pass --token, set HF_TOKEN"):
        push_to_hub.main(["--model_dir", str(trained_dir), "--repo_id", "alice/ko-en-lstm"])
    assert recording_api == []


def test_network_failure_is_explained_and_leaves_no_local_dir(trained_dir, tmp_path, monkeypatch):
    # The real HfApi, offline: it fails as an unreachable Hub does, without any network traffic.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(hub.PublishError, match="Check the internet connection") as raised:
        hub.publish(trained_dir, "alice/ko-en-lstm", token=FAKE_TOKEN, local_dir=tmp_path / "kept")
    assert FAKE_TOKEN not in str(raised.value)
    assert list(tmp_path.iterdir()) == [], "no partial --local_dir or staging folder is left"


def test_model_folder_problems_name_what_is_wrong(trained_dir, tmp_path):
    with pytest.raises(hub.PublishError, match="does not exist"):
        hub.validate_model_dir(tmp_path / "nowhere")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text("{}")
    with pytest.raises(hub.PublishError, match="not a trained model folder") as raised:
        hub.validate_model_dir(partial)
    for name in ("model.safetensors", "tokenizer.json", "all_results.json", "run_info.json"):
        assert name in str(raised.value)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(hub.PublishError, match="not an empty folder"):
        hub.stage_repository(trained_dir, tmp_path / "taken")
    assert [path.name for path in (tmp_path / "taken").iterdir()] == ["keep.txt"]


def test_cli_requires_local_dir_for_a_dry_run_and_repo_id_for_an_upload(capsys):
    with pytest.raises(SystemExit) as raised:
        push_to_hub.parse_args(["--dry_run"])
    assert raised.value.code == 2 and "--local_dir" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        push_to_hub.parse_args([])
    assert "--repo_id is required" in capsys.readouterr().err
    args = push_to_hub.parse_args(["--dry_run", "--local_dir", "staged"])
    assert args.model_dir == "outputs/ko-en-lstm"  # train.py's default --output_dir
