"""Score a trained model on a ko/en TSV through the translation pipeline (the users' path).

    python recipes/score_tsv.py MODEL_DIR ../shared/data/koen/test.tsv [--num_beams 5]
        [--quantize int8 | --device cuda]

Prints BLEU and chrF with their sacreBLEU signatures, and the decoding time, as JSON; the
scores should agree with the model folder's all_results.json when the decoding settings are
the same.
"""

import argparse
import json
import sys
import time

from hf_seq2seq_lstm.cli import load_translator
from hf_seq2seq_lstm.data import load_parallel_corpus
from hf_seq2seq_lstm.metrics import compute_translation_scores
from hf_seq2seq_lstm.quantization import QUANTIZE_CHOICES


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="a trained model folder")
    parser.add_argument("tsv", help="a TSV with ko and en columns")
    parser.add_argument("--num_beams", type=int, help="beam size (default: the model's)")
    parser.add_argument("--length_penalty", type=float, help="default: the model's")
    parser.add_argument("--batch_size", type=int, default=64, help="sentences per batch")
    parser.add_argument("--predictions", help="also write the translations here")
    parser.add_argument(
        "--quantize",
        choices=QUANTIZE_CHOICES,
        default="none",
        help="score the int8-quantized or bfloat16 model instead of float32 (default: none)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    args = parser.parse_args(argv)
    if args.quantize != "none" and args.device != "cpu":
        parser.error("--quantize prepares a model for the CPU; leave it out with --device")
    pairs = load_parallel_corpus({"test": args.tsv}, validation_split=0, max_chars=None)["test"]
    translator = load_translator(args.model_dir, args.quantize, args.device)
    generate_kwargs = {
        key: value
        for key, value in (("num_beams", args.num_beams), ("length_penalty", args.length_penalty))
        if value is not None
    }
    started = time.perf_counter()
    outputs = translator(pairs["ko"], batch_size=args.batch_size, **generate_kwargs)
    predictions = [output["translation_text"] for output in outputs]  # strings: decoding is done
    seconds = time.perf_counter() - started
    scores = compute_translation_scores(predictions, pairs["en"])
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as handle:
            handle.writelines(" ".join(line.splitlines()) + "\n" for line in predictions)
    # Like the decoding settings, the quantization shows only where one was asked for.
    quantize = {"quantize": args.quantize} if args.quantize != "none" else {}
    speed = {"seconds": seconds, "sentences_per_s": len(predictions) / seconds}
    report = {"sentences": len(predictions), **quantize, **generate_kwargs, **scores, **speed}
    print(json.dumps(report, indent=2))
    return scores


if __name__ == "__main__":
    sys.exit(main() and 0)
