"""The translation pipeline (remote code) and the translate CLI, from a saved folder."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from test_modeling import run_without_package
from transformers import AutoTokenizer

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.alignment import translate_with_attention
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


PIPELINE_CHECK = textwrap.dedent(
    """
    import json, sys
    from transformers import pipeline
    folder, sentences = sys.argv[1], json.loads(sys.argv[2])
    translator = pipeline("translation", model=folder, trust_remote_code=True)
    print("OUT:" + json.dumps(translator(sentences, batch_size=2, num_beams=3)))
    print("ONE:" + json.dumps(translator(sentences[0], num_beams=3)))
    """
)


def test_plain_save_pretrained_folder_carries_the_pipeline_entry(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert config["custom_pipelines"]["translation"]["impl"] == (
        "pipeline_seq2seq_lstm.Seq2SeqLSTMTranslationPipeline"
    )
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSeq2SeqLM"}
    assert (model_dir / "pipeline_seq2seq_lstm.py").is_file()


def test_pipeline_translates_batches_offline_in_a_fresh_process(model_dir, tmp_path, hf_home):
    sentences = [*SENTENCES, "   "]
    (tmp_path / "check.py").write_text(PIPELINE_CHECK)
    result = run_without_package(
        str(tmp_path / "check.py"), str(model_dir), json.dumps(sentences), hf_home=hf_home
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
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "hf_seq2seq_lstm.cli", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


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


def test_alignment_rows_follow_the_chosen_beam(model_dir):
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(model_dir)
    tokenizer = load_tokenizer(model_dir)
    alignment = translate_with_attention(model, tokenizer, SENTENCES[0], num_beams=4)
    assert alignment.translation == expected_translations(model_dir, SENTENCES[:1], num_beams=4)[0]
    rows, columns = alignment.weights.shape
    assert rows == len(alignment.target_tokens) and columns == len(alignment.source_tokens)
    torch.testing.assert_close(alignment.weights.sum(-1), torch.ones(rows))
