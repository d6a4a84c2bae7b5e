"""The run records: the JSON train.py writes round-trips through the dataclasses unchanged, files
of earlier versions still read, misspelt fields are refused, and AI Hub is told by one rule."""

import json

import pytest

from hf_seq2seq_lstm.run_records import (
    Averaging,
    DataInfo,
    LogEntry,
    LogHistory,
    Results,
    RunInfo,
    SourceScores,
    SplitScores,
    looks_like_aihub,
)

BLEU_SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
CHRF_SIGNATURE = "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
VALIDATION = {
    "eval_bleu": 12.5, "eval_chrf": 35.25, "eval_loss": 3.5,
    "eval_bleu_signature": BLEU_SIGNATURE, "eval_chrf_signature": CHRF_SIGNATURE,
}  # fmt: skip
# all_results.json of a run with --do_predict, per-source test pairs and a kept average.
RESULTS = {
    "train_loss": 3.25, "train_steps": 400, "epochs": 2.0, "train_runtime_s": 61.5,
    "train_target_tokens_per_s": 5120.0, "best_step": 400, "averaged_steps": [200, 300, 400],
    **VALIDATION,
    "num_beams": 5,
    "averaging": {"steps": [200, 300, 400], "kept": True, **VALIDATION},
    "test_bleu": 11.0, "test_chrf": 33.5, "test_loss": 3.75,
    "test_bleu_signature": BLEU_SIGNATURE, "test_chrf_signature": CHRF_SIGNATURE,
    "test_by_source": {
        "1_구어체(1).xlsx": {"pairs": 120, "bleu": 10.5, "chrf": 32.0},
        "tatoeba": {"pairs": 80, "bleu": 12.0, "chrf": 35.5},
    },
}  # fmt: skip
RUN_INFO = {
    "package_version": "0.1.0", "torch_version": "2.13.0", "transformers_version": "5.25.0",
    "python_version": "3.11.2", "git_commit": None, "tokenizer_sha256": "0" * 64,
    "command": "train.py --hub_token ***",
    "data": {"sources": ["/data/1_구어체(1).xlsx"], "license": None, "aihub": True,
             "train_pairs": 27},
}  # fmt: skip
LOG = [
    {"step": 1, "epoch": 0, "loss": 5.5, "teacher_forcing_ratio": 1.0, "learning_rate": 0.001},
    {"step": 2, "epoch": 0, **VALIDATION},
]


@pytest.mark.parametrize(
    "record,value", [(Results, RESULTS), (RunInfo, RUN_INFO), (LogHistory, LOG)]
)
def test_what_train_py_writes_reads_back_and_writes_unchanged(tmp_path, record, value):
    (tmp_path / record.FILE).write_text(json.dumps(value), encoding="utf-8")
    (tmp_path / "again").mkdir()
    written = record.read(tmp_path).write(tmp_path / "again")
    assert json.loads(written.read_text(encoding="utf-8")) == value


def test_the_dataclasses_hold_the_scores_by_split_and_source():
    results = Results.from_json(RESULTS)
    expected = SplitScores(12.5, 35.25, 3.5, BLEU_SIGNATURE, CHRF_SIGNATURE)
    assert results.validation == expected
    assert results.averaging == Averaging([200, 300, 400], True, expected)
    assert results.test.chrf == 33.5 and results.test.loss == 3.75
    assert results.test_by_source["tatoeba"] == SourceScores(pairs=80, bleu=12.0, chrf=35.5)
    assert list(results.scored_splits()) == ["validation", "test"]
    (training, evaluation) = LogHistory.from_json(LOG).entries
    assert training.loss == 5.5 and training.validation is None
    assert evaluation.loss is None and evaluation.validation == expected


def test_korean_file_names_are_written_as_utf8_text(tmp_path):
    RunInfo.from_json(RUN_INFO).write(tmp_path)
    assert "1_구어체(1).xlsx" in (tmp_path / RunInfo.FILE).read_text(encoding="utf-8")


def test_files_of_earlier_versions_read_with_defaults_for_missing_fields(tmp_path):
    # As the first versions wrote them: no python_version, command or data flags; no loss,
    # signatures, averaging or per-source scores.
    old_info = {"package_version": "0.1.0", "data": {"sources": ["train.tsv"]}}
    (tmp_path / RunInfo.FILE).write_text(json.dumps(old_info))
    info = RunInfo.read(tmp_path)
    assert info.command is None and info.python_version is None
    assert info.data == DataInfo(sources=["train.tsv"], license=None, aihub=False)
    (tmp_path / Results.FILE).write_text(json.dumps({"train_steps": 10, "eval_bleu": 1.5}))
    results = Results.read(tmp_path)
    assert results.validation == SplitScores(bleu=1.5)
    assert results.test is None and results.averaging is None and results.test_by_source == {}
    (tmp_path / RunInfo.FILE).write_text("{}")
    assert RunInfo.read(tmp_path) == RunInfo()


def test_unknown_fields_are_refused_where_a_record_is_made_and_ignored_when_read(tmp_path):
    with pytest.raises(ValueError, match=r"unknown fields \['bleu'\]"):
        Results.from_json({"train_steps": 10, "bleu": 1.5})  # the key the plot once read
    with pytest.raises(ValueError, match=r"run_info.json data: unknown fields \['licence'\]"):
        RunInfo.from_json({"data": {"licence": "mit"}})
    with pytest.raises(ValueError, match="unknown fields"):
        LogHistory.from_json([{"step": 1, "eval_blue": 2.0}])
    (tmp_path / Results.FILE).write_text(json.dumps({"train_steps": 10, "a_later_field": 1}))
    assert Results.read(tmp_path) == Results(train_steps=10)


def test_a_file_that_is_not_a_record_is_named(tmp_path):
    (tmp_path / Results.FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"all_results\.json: .*must be a JSON object"):
        Results.read(tmp_path)
    (tmp_path / LogHistory.FILE).write_text("{not json")
    with pytest.raises(ValueError, match=r"log_history\.json: "):
        LogHistory.read(tmp_path)
    (tmp_path / LogHistory.FILE).write_text(json.dumps([{"loss": 1.0}]))
    with pytest.raises(ValueError, match="log entry: .*step"):
        LogHistory.read(tmp_path)


def test_fields_that_do_not_apply_are_left_out_of_the_file():
    assert Results(train_steps=3).to_json() == {"train_steps": 3}
    assert LogEntry(step=4, loss=2.0).to_json() == {"step": 4, "loss": 2.0}
    # run_info.json keeps every field, unknown ones as null, as train.py always wrote it
    assert RunInfo().to_json()["git_commit"] is None


@pytest.mark.parametrize(
    "path",
    [
        "1_구어체(1).xlsx",  # AI Hub's spreadsheets
        "/data/corpus/SHEET.XLSX",
        "/data/aihub/train.tsv",  # a folder named after it
        "AI Hub/valid.tsv",
        "한국어-영어 번역 말뭉치(사회과학).json",  # its JSON corpora
        "2_대화체.json",
        "someone/ai-hub-koen",  # a Hub dataset id
    ],
)
def test_ai_hub_data_is_told_by_its_file_and_folder_names(path):
    assert looks_like_aihub(path)


@pytest.mark.parametrize(
    "path", ["train.tsv", "/data/koen/test.tsv", "builtin:koen", "Helsinki-NLP/opus-100"]
)
def test_other_data_is_not_taken_for_ai_hub(path):
    assert not looks_like_aihub(path)
