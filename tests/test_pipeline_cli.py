"""The translation pipeline (remote code) and the translate CLI, from a saved folder."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from helpers import SCRIPTS, run_without_package
from tokenizers import AddedToken
from transformers import AutoTokenizer

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.alignment import translate_with_attention
from hf_seq2seq_lstm.cli import main as cli_main
from hf_seq2seq_lstm.data import builtin_corpus_files, load_parallel_corpus
from hf_seq2seq_lstm.pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from hf_seq2seq_lstm.tokenization import train_bpe_tokenizer

SENTENCES = ["오늘 날씨가 정말 좋네요.", "이거 얼마예요?", "내일 아침 일곱 시에 만나요."]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny model and its tokenizer saved the plain way: save_pretrained on each."""
    folder = tmp_path_factory.mktemp("model")
    tokenizer = train_bpe_tokenizer(
        load_parallel_corpus(builtin_corpus_files("sample"))["train"], vocab_size=400
    )
    torch.manual_seed(0)
    config = Seq2SeqLSTMConfig(
        src_vocab_size=len(tokenizer), tgt_vocab_size=len(tokenizer), embedding_dim=16,
        hidden_dim=32, num_layers=1, dropout=0.0,
    )  # fmt: skip
    model = Seq2SeqLSTMForConditionalGeneration(config)
    with torch.no_grad():
        model.lm_head.bias[tokenizer.eos_token_id] += 3.0  # short outputs
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def expected_translations(model_dir, sentences, **generate_kwargs):
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(model_dir).eval()
    tokenizer = load_tokenizer(model_dir)
    texts = []
    for sentence in sentences:
        output = model.generate(**tokenizer(sentence, return_tensors="pt"), **generate_kwargs)
        texts.append(tokenizer.decode(output[0], skip_special_tokens=True).strip())
    return texts


def load_tokenizer(model_dir):
    return AutoTokenizer.from_pretrained(model_dir)


def test_plain_save_pretrained_folder_carries_the_pipeline_entry(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert config["custom_pipelines"]["translation"]["impl"] == (
        "pipeline_seq2seq_lstm.Seq2SeqLSTMTranslationPipeline"
    )
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"}
    assert (model_dir / "pipeline_seq2seq_lstm.py").is_file()


def test_pipeline_translates_batches_offline_in_a_fresh_process(model_dir, hf_home):
    sentences = [*SENTENCES, "   "]
    result = run_without_package(
        SCRIPTS / "pipeline_check.py", str(model_dir), json.dumps(sentences), hf_home=hf_home
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    batch = json.loads(lines["OUT"])
    expected = expected_translations(model_dir, SENTENCES, num_beams=3)
    assert [item["translation_text"] for item in batch] == [*expected, ""]
    assert json.loads(lines["ONE"]) == [{"translation_text": expected[0]}]


def test_pipeline_handles_empty_long_and_wrong_inputs(model_dir):
    translator = Seq2SeqLSTMTranslationPipeline(
        model=Seq2SeqLSTMForConditionalGeneration.from_pretrained(model_dir),
        tokenizer=load_tokenizer(model_dir),
    )
    assert translator(["", "  \t"]) == [{"translation_text": ""}, {"translation_text": ""}]
    long_source = "안녕하세요 " * 400  # far beyond the tokenizer's model_max_length
    (result,) = translator([long_source], num_beams=1, max_new_tokens=5)
    assert isinstance(result["translation_text"], str)
    several = translator(SENTENCES[:2], num_beams=3, num_return_sequences=2, batch_size=2)
    assert [len(item) for item in several] == [2, 2]
    for sentence, batched in zip(SENTENCES[:2], several, strict=True):  # each its own beams
        # one string: a flat list of its sequences, as transformers 4 returned it
        assert translator(sentence, num_beams=3, num_return_sequences=2) == batched
    with pytest.raises(TypeError, match="input 1 is int"):
        translator(["괜찮아요", 3])


def run_cli(*args, stdin=None):
    """`python -m hf_seq2seq_lstm.cli ARGS`. stdin: str (sent as UTF-8) or raw bytes. Output is
    decoded without newline translation, so every line boundary it holds shows in splitlines().
    """
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "hf_seq2seq_lstm.cli", *args],
        input=stdin, capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    )


def test_cli_translates_arguments_and_stdin_and_draws_the_alignment(model_dir, tmp_path):
    expected = expected_translations(model_dir, SENTENCES, num_beams=2)
    from_args = run_cli(str(model_dir), *SENTENCES, "--num_beams", "2")
    assert from_args.returncode == 0, from_args.stderr
    assert from_args.stdout.splitlines() == expected
    png = tmp_path / "alignment.png"
    from_stdin = run_cli(
        str(model_dir), "--num_beams", "2", "--attention_png", str(png),
        stdin="\n".join(SENTENCES) + "\n",
    )  # fmt: skip
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout.splitlines() == expected
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# One token whose text holds every line boundary str.splitlines() knows, "\r\n" included.
LINE_BREAKING_TOKEN = "one\ntwo\rthree\r\nfour\u2028five\x85six\u2029seven\x0beight\x0cnine\x1cten"


@pytest.fixture(scope="module")
def line_breaking_model_dir(model_dir, tmp_path_factory):
    """The tiny model, taught to translate everything into LINE_BREAKING_TOKEN first."""
    folder = tmp_path_factory.mktemp("line_breaking_model")
    tokenizer = load_tokenizer(model_dir)
    # normalized=False: the tokenizer's normaliser would turn the line breaks into spaces.
    tokenizer.add_tokens([AddedToken(LINE_BREAKING_TOKEN, normalized=False)])
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(model_dir)
    model.resize_token_embeddings(len(tokenizer))
    with torch.no_grad():
        model.lm_head.bias[tokenizer.convert_tokens_to_ids(LINE_BREAKING_TOKEN)] += 100.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_cli_prints_one_line_per_input_line_even_when_a_translation_breaks_lines(
    line_breaking_model_dir,
):
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(line_breaking_model_dir)
    tokenizer = load_tokenizer(line_breaking_model_dir)
    output = model.generate(**tokenizer("안녕", return_tensors="pt"), num_beams=1, max_new_tokens=1)
    assert tokenizer.decode(output[0], skip_special_tokens=True) == LINE_BREAKING_TOKEN

    # Four input lines: an empty one, one holding U+2028, a CRLF ending, no final newline.
    stdin = "안녕하세요.\n\n이거 얼마\u2028예요?\r\n마지막 줄"
    result = run_cli(
        str(line_breaking_model_dir), "--num_beams", "1", "--max_new_tokens", "1", stdin=stdin
    )
    assert result.returncode == 0, result.stderr
    flat = "one two three four five six seven eight nine ten"
    assert result.stdout.splitlines() == [flat, "", flat, flat]


def make_checkpoint(folder, model_dir):
    """A folder laid out like train.py's checkpoint-N: accelerate state and the tokenizer."""
    folder.mkdir(parents=True)
    shutil.copy(model_dir / "model.safetensors", folder / "model.safetensors")
    (folder / "optimizer.bin").write_bytes(b"accelerate optimizer state")
    (folder / "training_state.json").write_text(json.dumps({"step": 40}))
    load_tokenizer(model_dir).save_pretrained(folder / "tokenizer")
    return folder


@pytest.mark.parametrize("case", ["missing folder", "checkpoint", "stdin not UTF-8", "batch 0"])
def test_cli_refuses_bad_input_with_one_line_and_no_traceback(case, model_dir, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(model_dir, run_dir)  # a finished run: the model, then its checkpoints
    checkpoint = make_checkpoint(run_dir / "checkpoint-40", model_dir)
    args, stdin, expected = {
        "missing folder": (
            [str(tmp_path / "no-such-run" / "model")], "안녕\n",
            f"model folder {tmp_path / 'no-such-run' / 'model'} not found",
        ),
        "checkpoint": (
            [str(checkpoint)], "안녕\n",
            f"{checkpoint} is a training checkpoint (for train.py --resume_from_checkpoint), "
            f"not a model folder; translate with the model folder {run_dir}",
        ),
        "stdin not UTF-8": (
            [str(run_dir)], "안녕\n".encode() + b"caf\xe9\n",
            "stdin is not UTF-8: line 2 has the byte 0xe9 at byte 4 of the line",
        ),
        "batch 0": (
            [str(run_dir), "--batch_size", "0"], "안녕\n",
            "argument --batch_size: must be a positive integer, got 0",
        ),
    }[case]  # fmt: skip
    result = run_cli(*args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    # argparse puts its usage above the error; every other refusal is the one line alone.
    lines = result.stderr.splitlines()
    assert lines[-1] == f"hf-seq2seq-translate: error: {expected}"
    assert len(lines) == 1 or case == "batch 0"


def test_cli_names_what_is_wrong_with_a_folder_that_holds_no_model(model_dir, tmp_path, capsys):
    unfinished = make_checkpoint(tmp_path / "unfinished" / "checkpoint-40", model_dir)
    assert cli_main([str(unfinished), "안녕"]) == 2
    assert capsys.readouterr().err == (
        f"hf-seq2seq-translate: error: {unfinished} is a training checkpoint (for train.py "
        f"--resume_from_checkpoint), not a model folder; {unfinished.parent} holds no saved "
        "model yet (no config.json)\n"
    )
    assert cli_main([str(tmp_path / "unfinished"), "안녕"]) == 2
    assert "unfinished is not a model folder: it has no config.json" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--num_beams", "--max_new_tokens", "--batch_size"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_cli_refuses_non_positive_numbers_before_loading_anything(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["no-such-model-folder", "안녕", flag, value])
    assert exit_info.value.code == 2
    assert f"argument {flag}: must be a positive integer, got {value}" in capsys.readouterr().err


def test_alignment_rows_follow_the_chosen_beam(model_dir):
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(model_dir)
    tokenizer = load_tokenizer(model_dir)
    alignment = translate_with_attention(model, tokenizer, SENTENCES[0], num_beams=4)
    assert alignment.translation == expected_translations(model_dir, SENTENCES[:1], num_beams=4)[0]
    rows, columns = alignment.weights.shape
    assert rows == len(alignment.target_tokens) and columns == len(alignment.source_tokens)
    torch.testing.assert_close(alignment.weights.sum(-1), torch.ones(rows))
