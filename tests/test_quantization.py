"""int8 and bfloat16 CPU inference: `quantize_for_cpu`, `for_cpu_inference`, the --quantize
flags of the translate CLI and recipes/score_tsv.py (app.py's is in test_app.py), and
benchmarks/bench_quantization.py on a tiny model.

The decoding tests use a tiny LSTM overfitted to six sentence pairs, so that "gives sentences"
means the English it learnt, whatever the precision.
"""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import (
    ENGLISH,
    KOREAN,
    PAIRS,
    REPO_ROOT,
    overfit,
    padded_batch,
    pairs_tokenizer,
    tiny_model,
)
from torch.ao.nn.quantized import dynamic as nnqd
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from hf_seq2seq_lstm import cli
from hf_seq2seq_lstm.pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from hf_seq2seq_lstm.quantization import (
    Int8LSTM,
    for_cpu_inference,
    quantize_for_cpu,
)

SCORE_TSV = REPO_ROOT / "recipes" / "score_tsv.py"
BENCH_QUANTIZATION = REPO_ROOT / "benchmarks" / "bench_quantization.py"
# The float modules that int8 replaces, and what each becomes.
INT8_TYPES = {torch.nn.LSTM: Int8LSTM, torch.nn.GRU: nnqd.GRU, torch.nn.Linear: nnqd.Linear}
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A bidirectional LSTM with Bahdanau attention, shared and tied embeddings, overfitted to
    PAIRS and saved with its tokenizer the plain way."""
    tokenizer = pairs_tokenizer()
    model = overfit(
        tokenizer,
        embedding_dim=64,
        attention="bahdanau",
        share_embeddings=True,
        tie_word_embeddings=True,
    )
    folder = tmp_path_factory.mktemp("trained")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def load(folder):
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return AutoModelForSeq2SeqLM.from_pretrained(folder).eval(), tokenizer


def translate(model, tokenizer, sentences, **generate_kwargs):
    translator = Seq2SeqLSTMTranslationPipeline(model=model, tokenizer=tokenizer)
    results = translator(sentences, batch_size=4, **generate_kwargs)
    return [result["translation_text"] for result in results]


def file_digests(folder):
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(folder).iterdir())
    }


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_int8_replaces_every_rnn_and_linear_with_a_dynamic_quantized_one(cell, bidirectional):
    model = tiny_model(cell_type=cell, bidirectional_encoder=bidirectional, attention="bahdanau")
    quantized = quantize_for_cpu(model.eval())
    replaced = 0
    for name, module in model.named_modules():
        if type(module) in INT8_TYPES:
            swapped = quantized.get_submodule(name)
            assert type(swapped) is INT8_TYPES[type(module)], name
            if isinstance(swapped, Int8LSTM):
                assert type(swapped.quantized) is nnqd.LSTM, name
                assert not list(swapped.parameters()), f"{name} kept float weights"
            replaced += 1
    # encoder: one RNN per layer (2) and direction, and the bridge; decoder: its RNN (all
    # layers), the attention's three projections and `combine`; lm_head.
    directions = 2 if bidirectional else 1
    assert replaced == 2 * directions + bidirectional + 1 + 3 + 1 + 1
    float_left = [name for name, module in quantized.named_modules() if type(module) in INT8_TYPES]
    assert float_left == []
    assert not quantized.training
    # ...and it still decodes: greedy and beam search over a padded batch.
    input_ids, attention_mask = padded_batch([5, 3], 37)
    for num_beams in (1, 3):
        output = quantized.generate(
            input_ids=input_ids, attention_mask=attention_mask, num_beams=num_beams,
            max_new_tokens=6,
        )  # fmt: skip
        assert output.shape[0] == 2 and ((output >= 0) & (output < 29)).all()


def test_quantize_for_cpu_leaves_the_model_and_its_saved_folder_byte_identical(trained_dir):
    before = file_digests(trained_dir)
    model, _ = load(trained_dir)
    model.train()  # the mode is the model's own too
    weights = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    types = {name: type(module) for name, module in model.named_modules()}

    quantize_for_cpu(model)

    assert model.training
    assert {name: type(module) for name, module in model.named_modules()} == types
    after = model.state_dict()
    assert after.keys() == weights.keys()
    for name, tensor in weights.items():
        assert after[name].dtype == tensor.dtype and torch.equal(after[name], tensor), name
    assert file_digests(trained_dir) == before


def test_the_int8_copy_refuses_to_be_saved_and_says_what_to_do_instead(trained_dir, tmp_path):
    model, _ = load(trained_dir)
    with pytest.raises(NotImplementedError, match="quantize_for_cpu again after loading"):
        quantize_for_cpu(model).save_pretrained(tmp_path / "int8")
    assert not (tmp_path / "int8").exists()
    model.save_pretrained(tmp_path / "float")  # the original saves as ever
    assert (tmp_path / "float" / "model.safetensors").is_file()


def test_shared_embeddings_stay_shared_and_the_tied_output_layer_is_an_int8_copy(trained_dir):
    model, _ = load(trained_dir)
    quantized = quantize_for_cpu(model)
    encoder, decoder = quantized.model.encoder, quantized.model.decoder
    # One float parameter, as in the original, where transformers shares it.
    assert model.model.encoder.embed_tokens.weight is model.model.decoder.embed_tokens.weight
    assert encoder.embed_tokens.weight is decoder.embed_tokens.weight
    assert encoder.embed_tokens.weight.dtype == torch.float32
    # The original keeps its tie; the copy's lm_head holds the tied matrix in int8.
    assert model.lm_head.weight is model.model.decoder.embed_tokens.weight
    int8_weight = quantized.lm_head.weight()
    assert int8_weight.dtype == torch.qint8
    scale = int8_weight.q_scale()
    embedding = decoder.embed_tokens.weight
    assert (int8_weight.dequantize() - embedding).abs().max() <= scale / 2 + 1e-6


@pytest.mark.parametrize("quantize", ["int8", "bf16"])
@pytest.mark.parametrize("num_beams", [1, 5])
def test_int8_and_bf16_translate_a_trained_model_as_float32_does(trained_dir, quantize, num_beams):
    model, tokenizer = load(trained_dir)
    assert translate(model, tokenizer, KOREAN, num_beams=num_beams) == ENGLISH
    converted = for_cpu_inference(model, quantize)
    assert converted is not model
    if quantize == "bf16":
        assert {p.dtype for p in converted.parameters()} == {torch.bfloat16}
    assert translate(converted, tokenizer, KOREAN, num_beams=num_beams) == ENGLISH


def test_for_cpu_inference_names_its_choices_and_quantize_refuses_non_float32(trained_dir):
    model, _ = load(trained_dir)
    assert for_cpu_inference(model, "none") is model
    with pytest.raises(ValueError, match="none, int8, bf16"):
        for_cpu_inference(model, "int4")
    with pytest.raises(ValueError, match="needs a float32 model"):
        quantize_for_cpu(model.to(torch.bfloat16))


def run_cli(*args):
    result = subprocess.run(
        [sys.executable, "-m", "hf_seq2seq_lstm.cli", *args],
        capture_output=True, env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=300,
    )  # fmt: skip
    return result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8")


def test_cli_quantize_int8_translates_end_to_end_and_draws_the_alignment(trained_dir, tmp_path):
    png = tmp_path / "alignment.png"
    before = file_digests(trained_dir)
    returncode, stdout, stderr = run_cli(
        str(trained_dir), *KOREAN, "--quantize", "int8", "--attention_png", str(png)
    )
    assert returncode == 0, stderr
    assert stdout.splitlines() == ENGLISH
    assert "deprecated" not in stderr  # torch's quantization notices stay off the user's screen
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert file_digests(trained_dir) == before


def test_cli_refuses_an_unknown_quantization_with_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(["some/model", "--quantize", "int4"])
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert "invalid choice: 'int4'" in stderr and "'int8'" in stderr
    assert cli.parse_args(["some/model"]).quantize == "none"


def test_score_tsv_scores_the_quantized_model_and_says_so(trained_dir, tmp_path, capsys):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("ko\ten\n" + "".join(f"{ko}\t{en}\n" for ko, en in PAIRS), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("score_tsv", SCORE_TSV)
    score_tsv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score_tsv)
    capsys.readouterr()
    scores = score_tsv.main([str(trained_dir), str(tsv), "--quantize", "int8"])
    report = json.loads(capsys.readouterr().out)
    assert report["quantize"] == "int8" and report["sentences"] == len(PAIRS)
    assert scores["bleu"] == pytest.approx(100.0) and scores["chrf"] == pytest.approx(100.0)
    with pytest.raises(SystemExit):  # int8 and bf16 preparation is for the CPU
        score_tsv.main([str(trained_dir), str(tsv), "--quantize", "int8", "--device", "cuda"])
    assert "leave it out with --device" in capsys.readouterr().err


def test_quantization_benchmark_runs_every_precision_and_decoding_against_float32(
    trained_dir, tmp_path, capsys
):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("ko\ten\n" + "".join(f"{ko}\t{en}\n" for ko, en in PAIRS), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("bench_quantization", BENCH_QUANTIZATION)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = tmp_path / "figures.json"
    report = bench.main(
        [str(trained_dir), "--tsv", str(tsv), "--max_sentences", "4", "--repeats", "2"]
        + ["--json", str(figures)]
    )
    assert json.loads(figures.read_text()) == report
    assert report["sentences"] == 4
    rows = {(row["precision"], row["decoding"]): row for row in report["results"]}
    assert list(rows) == [
        (precision, decoding)
        for precision in ("fp32", "bf16", "int8")
        for decoding in ("greedy", "beam5")
    ]
    for (precision, _), row in rows.items():
        assert row["sentences_per_second"] > 0
        # The overfitted model's translations survive either precision.
        assert row["bleu"] == pytest.approx(100.0) and row["same_as_fp32"] == 1.0
        assert row["bleu_vs_fp32"] == pytest.approx(1.0)
        if precision == "fp32":
            assert row["speed_vs_fp32"] == 1.0
    # int8 and bf16 weights take less room than float32's (the float embeddings stay).
    fp32_size = rows["fp32", "greedy"]["weights_mib"]
    assert rows["int8", "greedy"]["weights_mib"] < fp32_size
    assert rows["bf16", "greedy"]["weights_mib"] < 0.6 * fp32_size
    assert "x fp32" in capsys.readouterr().out
