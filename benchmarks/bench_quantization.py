"""int8 and bf16 CPU inference against float32: sentences/s, BLEU and chrF on a trained model.

    python benchmarks/bench_quantization.py MODEL_DIR [--tsv TSV] [--max_sentences N]
        [--threads N] [--repeats N] [--json FILE]

One process, one loaded model: float32 (the baseline) and each of --quantize (bf16, int8;
`hf_seq2seq_lstm.quantization.for_cpu_inference`). Each precision translates the TSV's Korean
(`ko`, `en` columns; default: the package's built-in test split) greedily and with beam 5,
through the translation pipeline in batches as `hf-seq2seq-translate` and recipes/score_tsv.py
do, after one untimed warm-up batch; --repeats rounds run all of them in turn, and the fastest
time of each counts. Printed per precision and decoding: sentences/s, BLEU and chrF
(`compute_translation_scores`), each as a ratio to float32 with the same decoding, the share of
translations identical to float32's, and the size of the weights as torch.save writes them.

Speed depends on the CPU (int8 on VNNI, bf16 on AVX512-BF16/AMX, both printed) and on load: run
it on a quiet machine, with --threads fixed. --max_sentences cuts the TSV for a quick check.
"""

import argparse
import io
import json
import platform
import sys
import time
from pathlib import Path

import torch

from hf_seq2seq_lstm.cli import load_translator
from hf_seq2seq_lstm.data import builtin_corpus_files, load_parallel_corpus
from hf_seq2seq_lstm.metrics import compute_translation_scores
from hf_seq2seq_lstm.pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from hf_seq2seq_lstm.quantization import for_cpu_inference

DEFAULT_TSV = builtin_corpus_files()["test"]
# The flag values of for_cpu_inference and the names the table shows for them.
PRECISIONS = {"none": "fp32", "bf16": "bf16", "int8": "int8"}
DECODINGS = {"greedy": 1, "beam5": 5}
CPU_FLAGS = ("avx2", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="a trained model folder")
    parser.add_argument(
        "--tsv", default=DEFAULT_TSV, help="ko/en pairs (default: the built-in test split)"
    )
    parser.add_argument(
        "--max_sentences", type=int, help="translate only the first N pairs (default: all)"
    )
    parser.add_argument(
        "--quantize",
        nargs="+",
        choices=["bf16", "int8"],
        default=["bf16", "int8"],
        help="precisions compared with float32, which always runs first (default: both)",
    )
    parser.add_argument("--batch_size", type=int, default=32, help="sentences per batch")
    parser.add_argument(
        "--repeats", type=int, default=1, help="timed rounds over all runs; the fastest counts"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def cpu_description() -> dict:
    """The CPU's name and the instruction sets int8 and bf16 kernels use, where Linux says."""
    name, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return {"cpu": name, "cpu_flags": [flag for flag in CPU_FLAGS if flag in flags]}


def weights_mib(model: torch.nn.Module) -> float:
    """Size of the model's state_dict as torch.save writes it (int8 weights packed)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 2**20


def translate(translator, sentences: list[str], num_beams: int, batch_size: int) -> list[str]:
    # Every setting explicit: the saved generation config (beam 5) must not leak into greedy.
    outputs = translator(sentences, batch_size=batch_size, num_beams=num_beams, do_sample=False)
    return [output["translation_text"] for output in outputs]


def timed_translation(translator, sentences, num_beams, batch_size) -> tuple[list[str], float]:
    started = time.perf_counter()
    predictions = translate(translator, sentences, num_beams, batch_size)
    return predictions, time.perf_counter() - started


def measure(translators: dict, sentences: list[str], batch_size: int, repeats: int) -> dict:
    """{(precision, decoding): (predictions, fastest seconds)} over `repeats` rounds.

    Each round runs every precision and decoding in turn, so that a change of machine load
    over time spreads over all of them instead of falling on whichever ran first.
    """
    runs = [(precision, decoding) for precision in translators for decoding in DECODINGS]
    for precision, decoding in runs:  # warm-up: one untimed batch each
        translate(translators[precision], sentences[:batch_size], DECODINGS[decoding], batch_size)
    results = {}
    for round_number in range(1, repeats + 1):
        for precision, decoding in runs:
            predictions, seconds = timed_translation(
                translators[precision], sentences, DECODINGS[decoding], batch_size
            )
            first, fastest = results.get((precision, decoding), (predictions, seconds))
            results[precision, decoding] = (first, min(fastest, seconds))
            print(
                f"round {round_number}: {precision} {decoding} "
                f"{len(sentences) / seconds:.2f} sentences/s",
                file=sys.stderr,
            )
    return results


def compare(rows: list[dict]) -> None:
    """Add each row's ratios to the float32 row of the same decoding, and its agreement."""
    baseline = {row["decoding"]: row for row in rows if row["precision"] == "fp32"}
    for row in rows:
        fp32 = baseline[row["decoding"]]
        for key, ratio in (
            ("sentences_per_second", "speed_vs_fp32"),
            ("bleu", "bleu_vs_fp32"),
            ("chrf", "chrf_vs_fp32"),
        ):
            row[ratio] = row[key] / fp32[key] if fp32[key] else float("nan")
        same = sum(a == b for a, b in zip(row["predictions"], fp32["predictions"], strict=True))
        row["same_as_fp32"] = same / len(row["predictions"])


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'precision':<9} {'decoding':<8} {'sent/s':>8} {'x fp32':>7} {'BLEU':>6} "
        f"{'x fp32':>7} {'chrF':>6} {'x fp32':>7} {'same':>6} {'MiB':>7}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['precision']:<9} {row['decoding']:<8} {row['sentences_per_second']:>8.2f} "
            f"{row['speed_vs_fp32']:>7.2f} {row['bleu']:>6.2f} {row['bleu_vs_fp32']:>7.3f} "
            f"{row['chrf']:>6.2f} {row['chrf_vs_fp32']:>7.3f} {row['same_as_fp32']:>6.1%} "
            f"{row['weights_mib']:>7.1f}"
        )


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = load_parallel_corpus({"test": args.tsv}, validation_split=0, max_chars=None)["test"]
    if args.max_sentences:
        pairs = pairs.select(range(min(args.max_sentences, len(pairs))))
    sentences, references = list(pairs["ko"]), list(pairs["en"])
    float_translator = load_translator(args.model_dir)
    translators = {
        PRECISIONS[flag]: Seq2SeqLSTMTranslationPipeline(
            model=for_cpu_inference(float_translator.model, flag),
            tokenizer=float_translator.tokenizer,
        )
        for flag in ["none", *args.quantize]
    }
    rows = []
    measured = measure(translators, sentences, args.batch_size, args.repeats)
    for (precision, decoding), (predictions, seconds) in measured.items():
        scores = compute_translation_scores(predictions, references)
        rows.append(
            {
                "precision": precision,
                "decoding": decoding,
                "seconds": seconds,
                "sentences_per_second": len(sentences) / seconds,
                "bleu": scores["bleu"],
                "chrf": scores["chrf"],
                "weights_mib": weights_mib(translators[precision].model),
                "predictions": predictions,
            }
        )
    compare(rows)
    report = {
        "model_dir": str(args.model_dir),
        "tsv": str(args.tsv),
        "sentences": len(sentences),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "quantized_engine": torch.backends.quantized.engine,
        **cpu_description(),
        "results": [{k: v for k, v in row.items() if k != "predictions"} for row in rows],
    }
    print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=2))
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    sys.exit(main() and 0)
