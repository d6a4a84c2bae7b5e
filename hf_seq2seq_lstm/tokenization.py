"""A joint Korean+English BPE tokenizer trained with `tokenizers`, wrapped for `AutoTokenizer`.

The pipeline round-trips text: NFC and whitespace folding are the only changes `decode(encode(x))`
makes. Characters never seen in training (rare Hangul such as 뷁, emoji, hanja) are spelled
as UTF-8 byte tokens `<0xXX>`, which are ordinary vocabulary entries, not special tokens, so
`skip_special_tokens=True` keeps them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from copy import deepcopy
from pathlib import Path

import datasets
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from tokenizers.processors import TemplateProcessing
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from .checkpoints import atomic_dir

logger = logging.getLogger(__name__)

# Fixed ids: the model config's pad/unk/bos/eos ids are these.
PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN)
PAD_TOKEN_ID, UNK_TOKEN_ID, BOS_TOKEN_ID, EOS_TOKEN_ID = range(len(SPECIAL_TOKENS))

BYTE_TOKENS = tuple(f"<0x{byte:02X}>" for byte in range(256))
_METASPACE = "▁"


def train_bpe_tokenizer(
    texts: Iterable[str] | Iterable[list[str]] | datasets.Dataset,
    vocab_size: int = 8000,
    min_frequency: int = 2,
    model_max_length: int = 256,
    limit_alphabet: int | None = None,
    batch_size: int = 1000,
    show_progress: bool = False,
) -> PreTrainedTokenizerFast:
    """Train a joint BPE tokenizer on Korean and English text.

    Args:
        texts: sentences to learn from: an iterable of strings, an iterable of string batches
            (lists), or a `datasets.Dataset` with `ko` and `en` columns (both are read, batch by
            batch, so a large corpus never becomes one Python list).
        vocab_size: final vocabulary size, including the 4 special and 256 byte tokens.
        min_frequency: a merge must occur this often to be learnt.
        model_max_length: the length `truncation=True` cuts to.
        limit_alphabet: keep at most this many distinct characters as single-character tokens
            (the rest are spelled in byte tokens); None keeps every character seen.
        batch_size: rows per batch when reading a `Dataset`.
        show_progress: show the `tokenizers` training progress bar.

    Returns:
        A `PreTrainedTokenizerFast` with `<pad>`=0, `<unk>`=1, `<s>`=2, `</s>`=3 that appends
        `</s>` to every sequence (`input_ids` and `labels` of `tokenizer(ko, text_target=en)`)
        and never adds `<s>`.
    """
    reserved = len(SPECIAL_TOKENS) + len(BYTE_TOKENS)
    if vocab_size <= reserved:
        raise ValueError(f"vocab_size must exceed {reserved} (special + byte tokens)")
    if isinstance(texts, datasets.Dataset):
        texts = _iter_dataset_batches(texts, batch_size)

    tokenizer = Tokenizer(models.BPE(unk_token=UNK_TOKEN, byte_fallback=True))
    tokenizer.normalizer = normalizers.Sequence(
        # NFC, not NFKC: NFKC turns ㅋ into a conjoining jamo and ㈜ into (주).
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # Metaspace first, so word boundaries survive as "▁" and decoding adds no spaces.
            pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always"),
            pre_tokenizers.Punctuation(),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    tokenizer.decoder = decoders.Sequence(
        [decoders.ByteFallback(), decoders.Metaspace(replacement=_METASPACE)]
    )
    alphabet_limit = {} if limit_alphabet is None else {"limit_alphabet": limit_alphabet}
    trainer = trainers.BpeTrainer(
        # The byte tokens are added after training, not here, so the merges learn from real text.
        vocab_size=vocab_size - len(BYTE_TOKENS),
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=show_progress,
        **alphabet_limit,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer = _with_byte_tokens(tokenizer)
    tokenizer.post_processor = TemplateProcessing(
        single=f"$A {EOS_TOKEN}",
        pair=f"$A {EOS_TOKEN} $B {EOS_TOKEN}",
        special_tokens=[(EOS_TOKEN, EOS_TOKEN_ID)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        model_max_length=model_max_length,
        padding_side="right",
        # The decoder already restores spacing; the cleanup would glue "a ." into "a.".
        clean_up_tokenization_spaces=False,
    )


def cached_bpe_tokenizer(
    dataset: datasets.Dataset, vocab_size: int, text_digest: str, cache_root: Path | None = None
) -> PreTrainedTokenizerFast:
    """`train_bpe_tokenizer` on a `ko`/`en` dataset, kept in a folder beside the `datasets` cache.

    A later run on the same text with the same vocabulary size loads that folder instead of
    training again (about two minutes for AI Hub's 1.6M pairs). Every run, the first included,
    uses the tokenizer as loaded from the folder: `datasets` hashes the tokenizer into the cache
    key of the splits it tokenizes, and a loaded tokenizer hashes the same in every run, so the
    tokenized splits come from the cache as well. With `datasets` caching disabled it only trains.

    Args:
        dataset: the training split (`ko` and `en` columns).
        vocab_size: as for `train_bpe_tokenizer`.
        text_digest: a digest of the dataset's text (train.py's `data_fingerprint`), part of the
            cache key with `vocab_size` and a digest of this module (a changed trainer retrains).
        cache_root: where the folders go; default `<HF_DATASETS_CACHE>/hf_seq2seq_lstm-bpe`.
    """
    if not datasets.is_caching_enabled():
        return train_bpe_tokenizer(dataset, vocab_size=vocab_size)
    cache_root = Path(cache_root or Path(datasets.config.HF_DATASETS_CACHE) / "hf_seq2seq_lstm-bpe")
    module_digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    key = hashlib.sha256(f"{text_digest}|{vocab_size}|{module_digest}".encode()).hexdigest()
    folder = cache_root / key[:32]
    if (folder / "tokenizer.json").is_file():
        logger.info("BPE tokenizer for this training text loaded from %s", folder)
    else:
        tokenizer = train_bpe_tokenizer(dataset, vocab_size=vocab_size)
        cache_root.mkdir(parents=True, exist_ok=True)
        with atomic_dir(folder) as scratch:
            tokenizer.save_pretrained(scratch)
        logger.info("BPE tokenizer trained and cached in %s", folder)
    return AutoTokenizer.from_pretrained(folder)


def _iter_dataset_batches(dataset: datasets.Dataset, batch_size: int) -> Iterator[list[str]]:
    """Korean and English batches of a `ko`/`en` dataset, read from Arrow one batch at a time."""
    for batch in dataset.select_columns(["ko", "en"]).iter(batch_size=batch_size):
        yield batch["ko"]
        yield batch["en"]


def _with_byte_tokens(tokenizer: Tokenizer) -> Tokenizer:
    """Append the 256 `<0xXX>` tokens to the BPE model's vocabulary (not as special tokens).

    `tokenizers` has no call that adds plain model-vocabulary entries, so the serialised model
    is edited: byte fallback looks the byte tokens up in exactly this vocabulary.
    """
    state = json.loads(tokenizer.to_str())
    vocab = state["model"]["vocab"]
    for token in BYTE_TOKENS:
        vocab.setdefault(token, len(vocab))
    return Tokenizer.from_str(json.dumps(state))


def with_bpe_dropout(tokenizer: PreTrainedTokenizerFast, dropout: float) -> PreTrainedTokenizerFast:
    """A copy of a trained BPE `tokenizer` that skips each merge with probability `dropout`.

    BPE-dropout (Provilkov et al. 2020) shows the model many segmentations of the same words; it
    is for training batches only: the original `tokenizer` stays deterministic for validation,
    test, inference and saving. The rate is set on the trained model, since `tokenizers` does not
    keep a dropout given before training. Its randomness is the library's own (not seeded).
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if tokenizer.backend_tokenizer.model.__class__.__name__ != "BPE":
        raise ValueError("BPE-dropout needs a BPE tokenizer")
    copy = deepcopy(tokenizer)
    copy.backend_tokenizer.model.dropout = dropout or None
    return copy
