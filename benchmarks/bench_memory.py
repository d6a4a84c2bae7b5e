"""Peak memory of training: train.py with the default architecture vs the hand-written reference.

Each system trains in its own process, one after the other, on `koen/train.tsv` with batches of
64 sentences; the figure is the process's peak resident set (the kernel's `ru_maxrss` of that
child alone, so nothing is missed between samples). Ours runs a complete default run: tokenizer
training, tokenisation, the epochs, then validation on `valid.tsv` with beam 5 and the saving
of the model, plots and results; the reference trains its own two 8k BPE vocabularies (`prep`,
not counted) and then trains (`train`, counted).

    python benchmarks/bench_memory.py --epochs 1 --variants fp32 bf16

Measured on the 2-core dev machine, see README "Performance".
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the ../shared folder")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs of each system")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["fp32", "bf16"],
        choices=["fp32", "bf16"],
        help="our precisions to run (the reference is fp32)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every process")
    parser.add_argument("--no_reference", action="store_true", help="run only ours")
    return parser.parse_args(argv)


def run_measured(command: list[str], log: Path) -> tuple[float, float]:
    """Run `command` to completion; its peak RSS in GiB and wall time in seconds."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed; see {log}")
    return usage.ru_maxrss / 2**20, seconds  # ru_maxrss is in KiB on Linux


def reference_commands(args, workdir: Path) -> tuple[list[str], list[str]]:
    script = str(args.shared / "bench" / "reference_seq2seq.py")
    train = str(args.shared / "data" / "koen" / "train.tsv")
    common = ["--workdir", str(workdir), "--train", train, "--threads", str(args.threads)]
    prep = [sys.executable, script, "prep", *common]
    fit = [sys.executable, script, "train", *common, "--epochs", str(args.epochs)]
    return prep, fit


def our_command(args, output_dir: Path, precision: str) -> list[str]:
    koen = args.shared / "data" / "koen"
    return [
        sys.executable,
        str(REPO / "train.py"),
        "--train_file",
        str(koen / "train.tsv"),
        "--validation_file",
        str(koen / "valid.tsv"),
        "--dataset_license",
        "cc-by-sa-4.0",
        "--output_dir",
        str(output_dir),
        "--num_train_epochs",
        str(args.epochs),
        "--per_device_train_batch_size",
        "64",
        "--mixed_precision",
        "bf16" if precision == "bf16" else "no",
        "--num_threads",
        str(args.threads),
        "--seed",
        "1234",
    ]


def main(argv=None) -> None:
    args = parse_args(argv)
    if not (args.shared / "data" / "koen" / "train.tsv").is_file():
        raise SystemExit(f"koen/train.tsv not found under {args.shared}; pass --shared")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_reference:
            prep, fit = reference_commands(args, tmp / "reference")
            (tmp / "reference").mkdir()
            run_measured(prep, tmp / "reference-prep.log")
            rows.append(("hand-written reference (fp32)", *run_measured(fit, tmp / "ref.log")))
        for precision in args.variants:
            command = our_command(args, tmp / f"ours-{precision}", precision)
            peak, seconds = run_measured(command, tmp / f"ours-{precision}.log")
            rows.append((f"ours, default architecture ({precision})", peak, seconds))
    print(f"\n{args.epochs} epoch(s), batch 64, {args.threads} threads")
    print("| process | peak RSS | wall time |")
    print("| --- | ---: | ---: |")
    for name, peak, seconds in rows:
        print(f"| {name} | {peak:.2f} GiB | {seconds:.0f} s |")


if __name__ == "__main__":
    main()
