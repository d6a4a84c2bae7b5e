"""train_bpe_tokenizer: fixed special ids, </s>-only templates, lossless round trips, offline
reload, a cache per training text."""

import json
import os
import re
import subprocess
import sys
import unicodedata

import datasets
import pytest
from datasets.fingerprint import Hasher

from hf_seq2seq_lstm import tokenization
from hf_seq2seq_lstm.data import builtin_corpus_files, load_parallel_corpus
from hf_seq2seq_lstm.tokenization import (
    BYTE_TOKENS,
    cached_bpe_tokenizer,
    train_bpe_tokenizer,
    with_bpe_dropout,
)

UNSEEN_TEXTS = [
    "뷁",
    "똠방각하 햏",
    "좋아요 😀👍🏽",
    "漢字 교육",
    "ㅋㅋㅋ ㈜한국",
    "Ωμέγα – naïve café",
]


def normalise(text):
    """What the tokenizer is allowed to change: NFC and runs of whitespace."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def round_trip(tokenizer, text):
    return tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True)


def read_tsv_column(path, column):
    lines = path.read_text(encoding="utf-8").splitlines()
    index = lines[0].split("\t").index(column)
    return [line.split("\t")[index] for line in lines[1:]]


@pytest.fixture(scope="module")
def koen_tokenizer(shared_data):
    """Trained on the first 3,000 training pairs, small vocabulary: fast and still realistic."""
    train = shared_data / "koen" / "train.tsv"
    ko, en = read_tsv_column(train, "ko")[:3000], read_tsv_column(train, "en")[:3000]
    # Batches from a generator, as a large corpus would arrive.
    batches = (batch for batch in (ko[:1500], en[:1500], ko[1500:], en[1500:]))
    return train_bpe_tokenizer(batches, vocab_size=2000)


def test_special_token_ids_are_fixed_and_vocab_size_is_configurable(koen_tokenizer):
    assert (
        koen_tokenizer.pad_token_id,
        koen_tokenizer.unk_token_id,
        koen_tokenizer.bos_token_id,
        koen_tokenizer.eos_token_id,
    ) == (0, 1, 2, 3)
    assert len(koen_tokenizer) == 2000
    assert set(koen_tokenizer.all_special_ids) == {0, 1, 2, 3}
    # Byte tokens are the last 256 ordinary vocabulary entries, so decoding never skips them.
    byte_ids = koen_tokenizer.convert_tokens_to_ids(list(BYTE_TOKENS))
    assert byte_ids == list(range(2000 - 256, 2000))


def test_source_and_target_end_with_eos_and_never_start_with_bos(koen_tokenizer):
    batch = koen_tokenizer(
        ["안녕하세요, 반가워요!", "3시에 봐."],
        text_target=["Hello, nice to meet you!", "See you at 3."],
        padding=True,
    )
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    for ids, mask in zip(batch["input_ids"], batch["attention_mask"], strict=True):
        length = sum(mask)
        assert ids[length - 1] == 3 and 2 not in ids
        assert ids[length:] == [0] * (len(ids) - length)
    assert all(labels[-1] == 3 or labels[-1] == 0 for labels in batch["labels"])
    assert all(2 not in labels for labels in batch["labels"])


def test_truncation_respects_model_max_length(koen_tokenizer):
    assert koen_tokenizer.model_max_length == 256
    long_ids = koen_tokenizer("가나다 " * 400, truncation=True)["input_ids"]
    assert len(long_ids) == 256 and long_ids[-1] == 3


def test_every_test_line_round_trips_exactly(shared_data, koen_tokenizer):
    test_file = shared_data / "koen" / "test.tsv"
    lines = read_tsv_column(test_file, "ko") + read_tsv_column(test_file, "en")
    mismatches = [
        (line, round_trip(koen_tokenizer, line))
        for line in lines
        if round_trip(koen_tokenizer, line) != normalise(line)
    ]
    exact_match_rate = 1 - len(mismatches) / len(lines)
    print(f"round-trip exact match on {len(lines)} test lines: {exact_match_rate:.2%}")
    assert mismatches == []


@pytest.mark.parametrize("text", UNSEEN_TEXTS)
def test_unseen_characters_round_trip_through_byte_tokens(koen_tokenizer, text):
    ids = koen_tokenizer(text)["input_ids"]
    assert koen_tokenizer.unk_token_id not in ids
    assert round_trip(koen_tokenizer, text) == normalise(text)


def test_spacing_punctuation_and_digits_survive(koen_tokenizer):
    text = '  가격은   12,500원이에요 .  "정말?" (10:30)\t끝 '
    assert round_trip(koen_tokenizer, text) == '가격은 12,500원이에요 . "정말?" (10:30) 끝'
    digit_tokens = koen_tokenizer.tokenize("2024")
    assert [token for token in digit_tokens if token != "▁"] == ["2", "0", "2", "4"]


def test_trains_from_a_dataset_reading_both_languages():
    corpus = load_parallel_corpus(builtin_corpus_files("sample"))
    tokenizer = train_bpe_tokenizer(corpus["train"], vocab_size=1200, min_frequency=2)
    vocab = tokenizer.get_vocab()
    assert len(tokenizer) == 1200
    assert any(re.search("[가-힣]", token) for token in vocab)
    assert any(re.fullmatch("▁?[a-z]{3,}", token) for token in vocab)
    with pytest.raises(ValueError, match="vocab_size"):
        train_bpe_tokenizer(["a"], vocab_size=200)


def test_the_bpe_cache_trains_once_per_text_and_size_and_serves_an_equal_tokenizer(
    tmp_path, monkeypatch
):
    corpus = load_parallel_corpus(builtin_corpus_files("sample"))["train"]
    trained = []
    train = tokenization.train_bpe_tokenizer
    monkeypatch.setattr(
        tokenization,
        "train_bpe_tokenizer",
        lambda texts, vocab_size: trained.append(vocab_size) or train(texts, vocab_size=vocab_size),
    )
    first = cached_bpe_tokenizer(corpus, 600, "text-a", cache_root=tmp_path)
    second = cached_bpe_tokenizer(corpus, 600, "text-a", cache_root=tmp_path)
    assert trained == [600]
    sentence = corpus[0]["ko"]
    assert second(sentence)["input_ids"] == first(sentence)["input_ids"]
    assert second.get_vocab() == first.get_vocab()
    # What `datasets` puts into the cache key of the splits a tokenizer maps over.
    assert Hasher.hash(second) == Hasher.hash(first)

    cached_bpe_tokenizer(corpus, 700, "text-a", cache_root=tmp_path)  # another size
    cached_bpe_tokenizer(corpus, 600, "text-b", cache_root=tmp_path)  # other text
    assert trained == [600, 700, 600]
    assert len(list(tmp_path.iterdir())) == 3

    datasets.disable_caching()
    try:
        cached_bpe_tokenizer(corpus, 600, "text-a", cache_root=tmp_path)
    finally:
        datasets.enable_caching()
    assert trained == [600, 700, 600, 600]
    assert len(list(tmp_path.iterdir())) == 3


@pytest.mark.slow
def test_saved_tokenizer_reloads_offline_in_a_fresh_process(koen_tokenizer, tmp_path):
    koen_tokenizer.save_pretrained(tmp_path / "tokenizer")
    samples = ["초록색이 너한테 어울려.", "Green suits you.", *UNSEEN_TEXTS]
    script = (
        "import json, sys\n"
        "from transformers import AutoTokenizer\n"
        "tok = AutoTokenizer.from_pretrained(sys.argv[1])\n"
        "samples = json.loads(sys.argv[2])\n"
        "print(json.dumps({'ids': [tok(s)['input_ids'] for s in samples],\n"
        "  'decoded': [tok.decode(tok(s)['input_ids'], skip_special_tokens=True) for s in samples],\n"
        "  'special': [tok.pad_token_id, tok.unk_token_id, tok.bos_token_id, tok.eos_token_id]}))\n"
    )
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    environment["HF_HOME"] = str(tmp_path / "empty_hf_home")
    completed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "tokenizer"), json.dumps(samples)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    reloaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert reloaded["special"] == [0, 1, 2, 3]
    assert reloaded["ids"] == [koen_tokenizer(s)["input_ids"] for s in samples]
    assert reloaded["decoded"] == [normalise(s) for s in samples]


def test_bpe_dropout_varies_segmentation_in_a_copy_and_leaves_the_tokenizer_deterministic(
    koen_tokenizer, tmp_path
):
    text = "I would like to reserve a table for four people tomorrow evening."
    deterministic = koen_tokenizer(text)["input_ids"]
    dropping = with_bpe_dropout(koen_tokenizer, 0.3)
    segmentations = {tuple(dropping(text)["input_ids"]) for _ in range(20)}
    assert len(segmentations) > 1
    for ids in segmentations:  # every segmentation spells the same text
        assert dropping.decode(ids, skip_special_tokens=True) == text
        assert len(ids) >= len(deterministic)
    assert all(koen_tokenizer(text)["input_ids"] == deterministic for _ in range(5))
    koen_tokenizer.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "tokenizer.json").read_text())
    assert saved["model"]["dropout"] is None
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        with_bpe_dropout(koen_tokenizer, 1.0)
