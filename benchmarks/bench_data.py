"""Data pipeline at AI Hub's scale: load -> clean -> tokenizer training -> tokenise -> bucket.

Synthesises a corpus in AI Hub's spreadsheet layout (several `.xlsx` files with `SID`, `대분류`,
`원문`, `번역문`) from the shared koen pairs, each row joining two random pairs so that the rows
are (nearly all) distinct, then times each stage and reports its peak RSS (this process plus
its worker processes, sampled every 0.1 s).

    python benchmarks/bench_data.py --pairs 1600000 --cache_dir /tmp/bench_data_cache --num_proc 2

The spreadsheets are written once into `--cache_dir` and reused by later runs.

Measured on the 2-core dev machine (1.6M pairs, 8 files, num_proc 2, vocab 16k): load + clean +
split 124 s (3.27 GiB), BPE training 110 s, tokenisation 253 s, length bucketing 92 s;
chain 578 s, peak RSS 3.42 GiB. Writing the spreadsheets took 58 s.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from hf_seq2seq_lstm.data import load_parallel_corpus
from hf_seq2seq_lstm.tokenization import train_bpe_tokenizer

DEFAULT_SHARED_TRAIN = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "koen" / "train.tsv"
)


class PeakRssSampler:
    """Peak resident memory of this process and its children while a `with` block runs."""

    def __init__(self, interval_s: float = 0.1):
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()

    def _tree_rss(self) -> int:
        process = psutil.Process()
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._tree_rss())


def timed_stage(name: str, results: list, function, *args, **kwargs):
    """Run one stage, print and record its wall time and peak RSS, return its result."""
    start = time.perf_counter()
    with PeakRssSampler() as sampler:
        value = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    results.append((name, seconds, sampler.peak_bytes))
    print(
        f"{name:<28} {seconds:8.1f} s   peak RSS {sampler.peak_bytes / 2**30:6.2f} GiB", flush=True
    )
    return value


def write_spreadsheet(path: Path, ko: list[str], en: list[str], first_sid: int) -> None:
    """One AI Hub-style `.xlsx`, written in openpyxl's streaming mode to bound memory."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    sheet.append(["SID", "대분류", "원문", "번역문"])
    for offset, (ko_text, en_text) in enumerate(zip(ko, en, strict=True)):
        sheet.append([first_sid + offset, "일상대화", ko_text, en_text])
    partial = path.with_suffix(".partial")
    workbook.save(partial)
    partial.rename(path)  # only complete files count as cached


def synthesise_corpus(source_tsv: Path, cache_dir: Path, pairs: int, files: int) -> list[Path]:
    """Write (or reuse) `files` spreadsheets holding `pairs` rows in total."""
    folder = cache_dir / f"aihub_{pairs}_{files}"
    paths = [folder / f"{index + 1}_구어체({index + 1}).xlsx" for index in range(files)]
    if all(path.is_file() for path in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    lines = source_tsv.read_text(encoding="utf-8").splitlines()[1:]
    ko_pool = np.array([line.split("\t")[0] for line in lines], dtype=object)
    en_pool = np.array([line.split("\t")[1] for line in lines], dtype=object)
    first, second = np.random.default_rng(0).integers(len(lines), size=(2, pairs))
    ko = ko_pool[first] + " " + ko_pool[second]
    en = en_pool[first] + " " + en_pool[second]
    bounds = np.linspace(0, pairs, files + 1).astype(int)
    jobs = [
        (path, list(ko[start:end]), list(en[start:end]), int(start) + 1)
        for path, start, end in zip(paths, bounds[:-1], bounds[1:], strict=True)
        if not path.is_file()
    ]
    with multiprocessing.get_context("spawn").Pool(min(len(jobs), 2)) as pool:
        pool.starmap(write_spreadsheet, jobs)
    return paths


def tokenise(corpus, tokenizer, max_length: int, num_proc: int):
    """`tokenizer(ko, text_target=en)` over the training split, batched across processes."""

    def encode(batch):
        encoded = tokenizer(
            batch["ko"], text_target=batch["en"], truncation=True, max_length=max_length
        )
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    return corpus.map(encode, batched=True, num_proc=num_proc, remove_columns=corpus.column_names)


def bucket_by_length(tokenised, bucket_width: int):
    """Order rows by source-length bucket, so batches hold sentences of similar length."""
    lengths = np.asarray(tokenised.with_format("numpy")["length"])
    order = np.argsort(lengths // bucket_width, kind="stable")
    return tokenised.select(order).flatten_indices()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_600_000, help="rows to synthesise")
    parser.add_argument("--files", type=int, default=8, help="number of .xlsx files")
    parser.add_argument(
        "--cache_dir",
        type=Path,
        default=Path("/tmp/bench_data_cache"),
        help="where the spreadsheets and the datasets cache live",
    )
    parser.add_argument("--source_tsv", type=Path, default=DEFAULT_SHARED_TRAIN, help="koen pairs")
    parser.add_argument("--num_proc", type=int, default=2, help="worker processes")
    parser.add_argument("--vocab_size", type=int, default=16_000, help="BPE vocabulary size")
    parser.add_argument("--max_length", type=int, default=128, help="token truncation length")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("datasets").setLevel(logging.WARNING)
    results = []
    paths = timed_stage(
        "synthesise xlsx (cached)",
        results,
        synthesise_corpus,
        args.source_tsv,
        args.cache_dir,
        args.pairs,
        args.files,
    )
    chain_start = len(results)
    corpus = timed_stage(
        "load + clean + split",
        results,
        load_parallel_corpus,
        paths,
        validation_split=2000,
        num_proc=args.num_proc,
        cache_dir=args.cache_dir / "datasets",
    )
    print({split: len(dataset) for split, dataset in corpus.items()})
    tokenizer = timed_stage(
        "train BPE tokenizer",
        results,
        train_bpe_tokenizer,
        corpus["train"],
        vocab_size=args.vocab_size,
    )
    tokenised = timed_stage(
        "tokenise train",
        results,
        tokenise,
        corpus["train"],
        tokenizer,
        args.max_length,
        args.num_proc,
    )
    timed_stage("bucket by length", results, bucket_by_length, tokenised, bucket_width=8)
    chain = results[chain_start:]
    print(
        f"{'chain total':<28} {sum(seconds for _, seconds, _ in chain):8.1f} s   "
        f"peak RSS {max(peak for _, _, peak in chain) / 2**30:6.2f} GiB"
    )


if __name__ == "__main__":
    main()
