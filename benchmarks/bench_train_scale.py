"""train.py at AI Hub's scale: time to the first training step, steps/s and peak RSS.

    python benchmarks/bench_train_scale.py --pairs 1600000 --cache_dir /tmp/bench_data_cache

Three train.py runs of `--steps` optimizer steps each, with the same flags and the same
token-budget batches (`--max_tokens_per_batch`), so a step costs about the same on both corpora:
1. the built-in koen corpus (14k pairs): the steps/s to compare with;
2. a synthetic AI Hub corpus (`bench_data.py`'s spreadsheets: each row joins two koen pairs)
   with an empty `datasets` cache (cold);
3. the same corpus again with that cache warm.
Each run is its own process; its peak RSS counts its worker processes too (sampled every 0.1 s).
"Start" is the time from launching train.py to its first optimizer step (the progress bar's
first tick). The synthetic rows are about twice as long as koen's: with a batch of N sentences
a step would hold twice the tokens, hence the token budget; target tokens/s is printed beside
steps/s.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from bench_data import DEFAULT_SHARED_TRAIN, synthesise_corpus

REPO = Path(__file__).resolve().parents[1]
FIRST_STEP = re.compile(r"training:.*\| 1/\d+")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1_600_000, help="synthetic AI Hub rows")
    parser.add_argument("--files", type=int, default=8, help="number of .xlsx files")
    parser.add_argument("--cache_dir", type=Path, required=True, help="spreadsheets and caches")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps per run")
    parser.add_argument("--vocab_size", type=int, default=16_000, help="BPE vocabulary size")
    parser.add_argument(
        "--max_tokens_per_batch", type=int, default=2000, help="padded tokens per batch"
    )
    parser.add_argument("--num_proc", type=int, default=2, help="datasets worker processes")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def run_train(flags: list[str], datasets_cache: Path, output_dir: Path) -> dict:
    """One train.py process: seconds to its first step, its results, the tree's peak RSS."""
    command = [sys.executable, str(REPO / "train.py"), *flags, "--output_dir", str(output_dir)]
    env = {**os.environ, "HF_DATASETS_CACHE": str(datasets_cache), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    tree = psutil.Process(process.pid)
    peak = {"bytes": 0}

    def sample():
        while process.poll() is None:
            try:
                members = [tree, *tree.children(recursive=True)]
                peak["bytes"] = max(peak["bytes"], sum(p.memory_info().rss for p in members))
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    first_step_s, record, tail = None, b"", []
    while chunk := process.stderr.read1(4096):
        for char in chunk:  # tqdm ends its records with \r, log lines with \n
            if char in b"\r\n":
                line = record.decode(errors="replace")
                if first_step_s is None and FIRST_STEP.search(line):
                    first_step_s = time.perf_counter() - started
                tail = [*tail[-20:], line]
                record = b""
            else:
                record += bytes([char])
    if process.wait():
        raise SystemExit("train.py failed:\n" + "\n".join(tail))
    sampler.join()
    results = json.loads((output_dir / "all_results.json").read_text())
    return {
        "seconds_to_first_step": first_step_s,
        "steps_per_s": results["train_steps"] / results["train_runtime_s"],
        "target_tokens_per_s": results["train_target_tokens_per_s"],
        "peak_rss_gib": peak["bytes"] / 2**30,
        "wall_s": time.perf_counter() - started,
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    common = [
        "--max_train_steps", str(args.steps), "--vocab_size", str(args.vocab_size),
        "--max_tokens_per_batch", str(args.max_tokens_per_batch),
        "--preprocessing_num_workers", str(args.num_proc), "--mixed_precision", "bf16",
        "--eval_max_samples", "64", "--eval_num_beams", "1", "--overwrite_output_dir",
    ]  # fmt: skip
    spreadsheets = synthesise_corpus(DEFAULT_SHARED_TRAIN, args.cache_dir, args.pairs, args.files)
    aihub = ["--train_file", *map(str, spreadsheets)]
    figures = {}
    with tempfile.TemporaryDirectory(dir=args.cache_dir) as work:
        work = Path(work)
        runs = {
            "koen": (common, work / "koen_cache"),
            "aihub_cold": ([*aihub, *common], work / "aihub_cache"),
            "aihub_warm": ([*aihub, *common], work / "aihub_cache"),
        }
        for name, (flags, cache) in runs.items():
            figures[name] = run_train(flags, cache, work / name)
            print(name, json.dumps({k: round(v, 2) for k, v in figures[name].items()}), flush=True)
    ratio = figures["aihub_cold"]["steps_per_s"] / figures["koen"]["steps_per_s"]
    print(f"AI Hub steps/s / koen steps/s: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
