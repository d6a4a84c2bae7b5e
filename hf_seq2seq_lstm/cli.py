"""`hf-seq2seq-translate MODEL_DIR [SENTENCE ...]`: Korean in, English out.

Sentences come from the arguments, else one per line from standard input (UTF-8). Prints
exactly one translation per line, in order: line breaks inside a translation become spaces.
"""

import argparse
import codecs
import sys
from pathlib import Path

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from transformers.utils import logging as transformers_logging

from .alignment import translate_with_attention
from .inference import DEFAULT_MODEL_DIR, load_model_and_tokenizer, plot_alignment
from .pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from .quantization import QUANTIZE_CHOICES

PROG = "hf-seq2seq-translate"
# Files train.py's checkpoints hold (accelerate's state) and a saved model folder does not.
CHECKPOINT_MARKERS = ("training_state.json", "optimizer.bin")


class TranslateError(Exception):
    """A problem the user can fix, reported as one line on stderr without a traceback."""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument(
        "model_dir",
        nargs="?",
        default=DEFAULT_MODEL_DIR,
        help=f"a trained model folder or Hub repository (default: {DEFAULT_MODEL_DIR})",
    )
    parser.add_argument("sentences", nargs="*", help="Korean sentences (default: stdin lines)")
    parser.add_argument(
        "--num_beams", type=positive_int, help="beam size (default: the model's, 5)"
    )
    parser.add_argument(
        "--max_new_tokens", type=positive_int, help="cap on output tokens per sentence"
    )
    parser.add_argument("--batch_size", type=positive_int, default=32, help="sentences per batch")
    parser.add_argument(
        "--attention_png", help="also draw the first sentence's attention alignment here"
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZE_CHOICES,
        default="none",
        help="CPU inference: int8 quantizes the LSTM/GRU and linear layers (dynamic int8), bf16 "
        "runs in bfloat16; translations may differ slightly from float32 (default: none)",
    )
    return parser.parse_args(argv)


def load_translator(
    model_dir: str, quantize: str = "none", device: str | None = None
) -> Seq2SeqLSTMTranslationPipeline:
    """The translation pipeline of a saved model folder or Hub repository, loaded and quantized
    by `inference.load_model_and_tokenizer`, on `device` (default: the CPU).

    Raises TranslateError, with what to do instead, for a missing folder, a training
    checkpoint, a folder without a model, or a model that does not load.
    """
    check_model_dir(model_dir)
    try:
        model, tokenizer = load_model_and_tokenizer(model_dir, quantize)
    except OSError as error:
        # transformers' reasons (offline, no such repository, missing weights) span several
        # lines; the first says which.
        reason = str(error).strip().split("\n")[0]
        if Path(model_dir).is_dir():
            raise TranslateError(f"cannot load the model in {model_dir}: {reason}") from error
        raise TranslateError(
            f"model folder {model_dir} not found, and it did not load as a Hub repository: {reason}"
        ) from error
    return Seq2SeqLSTMTranslationPipeline(model=model, tokenizer=tokenizer, device=device)


def check_model_dir(model_dir: str) -> None:
    """TranslateError unless `model_dir` is a saved model folder or could be a Hub repository."""
    path = Path(model_dir)
    if path.is_dir():
        if (path / "config.json").is_file():
            return
        if any((path / marker).is_file() for marker in CHECKPOINT_MARKERS):
            if (path.parent / "config.json").is_file():
                advice = f"translate with the model folder {path.parent}"
            else:
                advice = f"{path.parent} holds no saved model yet (no config.json)"
            raise TranslateError(
                f"{path} is a training checkpoint (for train.py --resume_from_checkpoint), "
                f"not a model folder; {advice}"
            )
        raise TranslateError(f"{path} is not a model folder: it has no config.json")
    if path.exists():
        raise TranslateError(f"{path} is not a folder")
    try:
        validate_repo_id(model_dir)
    except HFValidationError:
        raise TranslateError(f"model folder {path} not found") from None


def read_stdin_lines(stream) -> list[str]:
    """Lines of a binary stream decoded as UTF-8 whatever the locale, without line endings."""
    lines = []
    for number, raw in enumerate(stream, start=1):
        if number == 1:  # a byte order mark (Windows editors write one) is not a sentence's
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TranslateError(
                f"stdin is not UTF-8: line {number} has the byte {raw[error.start]:#04x} "
                f"at byte {error.start + 1} of the line"
            ) from None
        lines.append(line.removesuffix("\n").removesuffix("\r"))
    return lines


def one_line(text: str) -> str:
    """`text` with every line boundary (\\n, \\r, \\u2028, \\x85, ...) replaced by a space."""
    return " ".join(text.splitlines())


def translate(args: argparse.Namespace) -> None:
    # Before stdin is read: a wrong folder fails at once.
    translator = load_translator(args.model_dir, args.quantize)
    sentences = args.sentences or read_stdin_lines(sys.stdin.buffer)
    generate_kwargs = {
        key: value
        for key, value in (("num_beams", args.num_beams), ("max_new_tokens", args.max_new_tokens))
        if value is not None
    }
    results = translator(sentences, batch_size=args.batch_size, **generate_kwargs)
    for result in results:
        print(one_line(result["translation_text"]))
    if args.attention_png and sentences:
        alignment = translate_with_attention(
            translator.model, translator.tokenizer, sentences[0], **generate_kwargs
        )
        if plot_alignment(alignment, args.attention_png, title=sentences[0]) is None:
            print("the model has no attention to draw", file=sys.stderr)


def main(argv=None) -> int:
    args = parse_args(argv)
    transformers_logging.disable_progress_bar()  # stdout/stderr stay clean for pipes
    try:
        translate(args)
    except TranslateError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
