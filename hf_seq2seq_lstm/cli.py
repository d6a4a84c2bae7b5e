"""`hf-seq2seq-translate MODEL_DIR [SENTENCE ...]`: Korean in, English out.

Sentences come from the arguments, else one per line from standard input. Prints one
translation per line, in order.
"""

import argparse
import sys

from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
from transformers.utils import logging as transformers_logging

from .alignment import translate_with_attention
from .pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from .plotting import plot_attention

DEFAULT_MODEL_DIR = "outputs/ko-en-lstm"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hf-seq2seq-translate", description=__doc__)
    parser.add_argument(
        "model_dir",
        nargs="?",
        default=DEFAULT_MODEL_DIR,
        help=f"a trained model folder or Hub repository (default: {DEFAULT_MODEL_DIR})",
    )
    parser.add_argument("sentences", nargs="*", help="Korean sentences (default: stdin lines)")
    parser.add_argument("--num_beams", type=int, help="beam size (default: the model's, 5)")
    parser.add_argument("--max_new_tokens", type=int, help="cap on output tokens per sentence")
    parser.add_argument("--batch_size", type=int, default=32, help="sentences per batch")
    parser.add_argument(
        "--attention_png", help="also draw the first sentence's attention alignment here"
    )
    return parser.parse_args(argv)


def load_translator(model_dir: str) -> Seq2SeqLSTMTranslationPipeline:
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, trust_remote_code=True).eval()
    return Seq2SeqLSTMTranslationPipeline(model=model, tokenizer=tokenizer)


def main(argv=None) -> int:
    args = parse_args(argv)
    transformers_logging.disable_progress_bar()  # stdout/stderr stay clean for pipes
    sentences = args.sentences or [line.rstrip("\n") for line in sys.stdin]
    translator = load_translator(args.model_dir)
    generate_kwargs = {
        key: value
        for key, value in (("num_beams", args.num_beams), ("max_new_tokens", args.max_new_tokens))
        if value is not None
    }
    results = translator(sentences, batch_size=args.batch_size, **generate_kwargs)
    for result in results:
        print(result["translation_text"])
    if args.attention_png and sentences:
        alignment = translate_with_attention(
            translator.model, translator.tokenizer, sentences[0], **generate_kwargs
        )
        if alignment.weights is None:
            print("the model has no attention to draw", file=sys.stderr)
        else:
            plot_attention(
                alignment.weights,
                alignment.source_tokens,
                alignment.target_tokens,
                args.attention_png,
                title=sentences[0],
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
