"""The bundled BLEU/chrF metric scripts agree with sacreBLEU and load without the Hub."""

import json
import os
import subprocess
import sys

import evaluate
import pytest
import sacrebleu
from helpers import REPO_ROOT, SCRIPTS

from hf_seq2seq_lstm.metrics import (
    AVAILABLE_METRICS,
    compute_translation_scores,
    load_metric,
    metric_path,
    translation_scores_by_group,
)

PREDICTIONS = [
    "the cat sat on the mat",
    "he reads a book every night",
    "it is raining in seoul today",
    "thank you",
]
REFERENCES = [
    "the cat sat on a mat",
    "he reads books every night",
    "it rains in seoul today",
    "thank you very much",
]
SECOND_REFERENCES = [
    "a cat was on the mat",
    "every night he reads",
    "today seoul has rain",
    "thanks",
]


@pytest.fixture(autouse=True)
def isolated_hf_home(hf_home):
    """Every test copies the metric scripts into a fresh module cache."""


def test_bleu_equals_sacrebleu_called_directly():
    result = load_metric("sacrebleu").compute(predictions=PREDICTIONS, references=REFERENCES)
    direct = sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES])
    assert result["score"] == pytest.approx(direct.score)
    assert result["precisions"] == pytest.approx(direct.precisions)
    assert result["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|")


@pytest.mark.parametrize("word_order", [0, 2])
def test_chrf_and_chrf_plus_plus_equal_sacrebleu(word_order):
    result = load_metric("chrf").compute(
        predictions=PREDICTIONS, references=REFERENCES, word_order=word_order
    )
    direct = sacrebleu.CHRF(word_order=word_order).corpus_score(PREDICTIONS, [REFERENCES])
    assert result["score"] == pytest.approx(direct.score)
    assert f"nw:{word_order}" in result["signature"]


def test_several_references_per_prediction_are_transposed_for_sacrebleu():
    references = [list(pair) for pair in zip(REFERENCES, SECOND_REFERENCES, strict=True)]
    result = load_metric("sacrebleu").compute(predictions=PREDICTIONS, references=references)
    direct = sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES, SECOND_REFERENCES])
    assert result["score"] == pytest.approx(direct.score)
    assert result["signature"].startswith("nrefs:2|")
    # A second reference can only add matches.
    single = sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES]).score
    assert result["score"] > single


def test_ragged_reference_lists_are_rejected():
    with pytest.raises(ValueError, match="references"):
        load_metric("sacrebleu").compute(
            predictions=PREDICTIONS[:2], references=[["a"], ["b", "c"]]
        )


@pytest.mark.parametrize("name", AVAILABLE_METRICS)
def test_add_batch_equals_one_compute_call(name):
    metric = load_metric(name)
    for start in range(0, len(PREDICTIONS), 3):
        metric.add_batch(
            predictions=PREDICTIONS[start : start + 3], references=REFERENCES[start : start + 3]
        )
    batched = metric.compute()
    whole = load_metric(name).compute(predictions=PREDICTIONS, references=REFERENCES)
    assert batched["score"] == pytest.approx(whole["score"])


def test_evaluate_combine_names_each_score_after_its_metric():
    combined = evaluate.combine([str(metric_path("sacrebleu")), str(metric_path("chrf"))])
    result = combined.compute(predictions=PREDICTIONS, references=REFERENCES)
    direct = sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES]).score
    assert result["sacrebleu_score"] == pytest.approx(direct)
    assert {"chrf_score", "sacrebleu_signature", "chrf_signature"} <= set(result)


def test_compute_translation_scores_reports_scores_and_signatures():
    scores = compute_translation_scores(PREDICTIONS, REFERENCES)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES]).score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(PREDICTIONS, [REFERENCES]).score)
    assert "tok:13a" in scores["bleu_signature"]
    assert "nc:6|nw:0" in scores["chrf_signature"]
    perfect = compute_translation_scores(REFERENCES, [[ref] for ref in REFERENCES])
    assert perfect["bleu"] == pytest.approx(100.0)
    assert perfect["chrf"] == pytest.approx(100.0)


def test_unknown_metric_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="sacrebleu"):
        metric_path("rouge")


def test_metrics_load_in_a_fresh_offline_process(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    # From an unrelated folder: the scripts must be found by absolute path, not the working directory.
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / "metrics_check.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.strip().splitlines()[-1])["bleu"] == pytest.approx(100.0)


def test_scores_by_group_add_up_to_the_corpus_and_equal_each_groups_own_scores():
    predictions = ["the cat sat", "a dog ran", "hello there", "the cat ran", "good night"]
    references = ["the cat sat down", "the dog ran", "hello there", "a cat ran", "good night all"]
    groups = ["news", "chat", "chat", "news", "chat"]
    by_group = translation_scores_by_group(predictions, references, groups)
    assert list(by_group) == ["news", "chat"]  # first appearance
    assert sum(row["pairs"] for row in by_group.values()) == len(predictions)
    news = compute_translation_scores(
        [predictions[0], predictions[3]], [references[0], references[3]]
    )
    assert by_group["news"]["bleu"] == pytest.approx(news["bleu"])
    assert by_group["news"]["chrf"] == pytest.approx(news["chrf"])
    with pytest.raises(ValueError, match="one group per prediction"):
        translation_scores_by_group(predictions, references, groups[:2])
