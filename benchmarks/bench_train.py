"""Training speed: our model vs the hand-written reference, alternately, on the same batches.

    python benchmarks/bench_train.py                       # fp32, the reference's architecture
    python benchmarks/bench_train.py --variants fp32 bf16 ss-two_pass ss-exact

Both models see identical token ids: the reference's own 8k source and 8k target BPE
vocabularies and its length-bucketed batches of `../shared/data/koen/train.tsv`. Rounds
alternate (reference, then each of our variants, on the same batches) so that machine noise
hits everyone alike. Prints target tokens/s per system, ratios, and our model FLOPs utilisation
(analytic useful FLOPs / the matmul peak of `../shared/bench/README.md`, CPU only).
`--device cuda` times both on a GPU (the reference's lengths stay on the CPU, as packing needs).
"""

import argparse
import importlib.util
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.cpu_memory import bound_onednn_cache

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PEAK_GFLOPS = {"fp32": 210.0, "bf16": 959.0}  # ../shared/bench/README.md, 2 threads


def load_reference(path: Path):
    spec = importlib.util.spec_from_file_location("reference_seq2seq", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["fp32"],
        help="our configurations: fp32, bf16, ss-two_pass, ss-exact (ratio 0.75), bf16-ss-two_pass",
    )
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds")
    parser.add_argument("--steps_per_round", type=int, default=10, help="batches per round")
    parser.add_argument("--warmup_steps", type=int, default=3, help="untimed steps per system")
    parser.add_argument("--batch_size", type=int, default=64, help="sentences per batch")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (CPU)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--attention", default="luong", help="our attention (reference: luong)")
    parser.add_argument("--cell_type", default="lstm", help="our cell (reference: lstm)")
    parser.add_argument("--hidden_dim", type=int, default=512, help="H (reference: 512)")
    parser.add_argument("--embedding_dim", type=int, default=256, help="E (reference: 256)")
    parser.add_argument("--num_layers", type=int, default=2, help="layers (reference: 2)")
    parser.add_argument(
        "--optimizer",
        choices=("fused_adam", "adam"),
        default="fused_adam",
        help="our optimizer: train.py's fused Adam, or the reference's plain Adam",
    )
    parser.add_argument("--no_reference", action="store_true", help="time our variants only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def prepare_batches(reference, args, device):
    """The reference's tokenizers, ids and length-bucketed batches of the shared train.tsv."""
    ko, en = reference.read_tsv(args.shared / "data" / "koen" / "train.tsv")
    with tempfile.TemporaryDirectory() as folder:
        reference.train_tokenizer(ko, 8000, f"{folder}/ko.json")
        reference.train_tokenizer(en, 8000, f"{folder}/en.json")
        tok_ko = reference.load_tokenizer(f"{folder}/ko.json")
        tok_en = reference.load_tokenizer(f"{folder}/en.json")
    src = reference.encode_all(tok_ko, ko)
    tgt = reference.encode_all(tok_en, en, add_bos=True)
    keep = [i for i in range(len(src)) if len(src[i]) <= 128 and len(tgt[i]) <= 129]
    src, tgt = [src[i] for i in keep], [tgt[i] for i in keep]
    order = reference.make_batches(src, tgt, args.batch_size, random.Random(1234))
    batches = []
    for indices in order:
        source = reference.pad([src[i] for i in indices])
        target = reference.pad([tgt[i] for i in indices])
        lengths = torch.tensor([len(src[i]) for i in indices])
        labels = target[:, 1:].masked_fill(target[:, 1:] == reference.PAD, -100)
        batches.append(
            dict(
                source=source.to(device),
                lengths=lengths,
                target=target.to(device),
                labels=labels.to(device),
            )
        )
    return batches, tok_ko.get_vocab_size(), tok_en.get_vocab_size()


def our_model(args, src_vocab, tgt_vocab):
    config = Seq2SeqLSTMConfig(
        src_vocab_size=src_vocab,
        tgt_vocab_size=tgt_vocab,
        cell_type=args.cell_type,
        attention=args.attention,
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        dropout=0.3,
        bidirectional_encoder=False,
        input_feeding=False,
    )
    return Seq2SeqLSTMForConditionalGeneration(config).train()


def reference_step(model, optimizer, batch, reference, precision):
    device_type = batch["source"].device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model(batch["source"], batch["lengths"], batch["target"][:, :-1])
        loss = F.cross_entropy(
            logits.float().reshape(-1, logits.size(-1)),
            batch["target"][:, 1:].reshape(-1),
            ignore_index=reference.PAD,
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def our_step(model, optimizer, batch, variant):
    precision = "bf16" if variant.startswith("bf16") else "fp32"
    ratio = 0.75 if "ss-" in variant else 1.0
    if "ss-" in variant:
        model.config.scheduled_sampling_mode = variant.split("ss-")[1]
    device_type = batch["source"].device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        loss = model(
            input_ids=batch["source"],
            attention_mask=batch["source"].ne(0).long(),
            labels=batch["labels"],
            teacher_forcing_ratio=ratio,
            return_logits=False,
        ).loss
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def useful_flops(batch, args, tgt_vocab):
    """6 x multiply-adds (forward + backward) of RNNs, attention and output layer, no padding."""
    hidden, emb, layers = args.hidden_dim, args.embedding_dim, args.num_layers
    gates = 4 if args.cell_type == "lstm" else 3
    src_tokens = int(batch["lengths"].sum())
    tgt_tokens = int((batch["labels"] != -100).sum())
    src_len = batch["source"].shape[1]
    rnn = gates * hidden * (emb + hidden) + (layers - 1) * gates * hidden * 2 * hidden
    macs = src_tokens * rnn + tgt_tokens * rnn
    if args.attention != "none":
        macs += src_tokens * hidden * hidden  # keys
        macs += tgt_tokens * (2 * src_len * hidden + 2 * hidden * hidden)  # scores, ctx, combine
    macs += tgt_tokens * hidden * tgt_vocab  # output layer
    return 6 * macs


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    bound_onednn_cache(device)  # as train.py does
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    reference = load_reference(args.shared / "bench" / "reference_seq2seq.py")
    batches, src_vocab, tgt_vocab = prepare_batches(reference, args, device)
    systems = {}
    if not args.no_reference:
        ref_model = reference.Seq2Seq(src_vocab, tgt_vocab).to(device).train()
        ref_opt = torch.optim.Adam(ref_model.parameters(), lr=1e-3)
        systems["reference"] = lambda b: reference_step(ref_model, ref_opt, b, reference, "fp32")
    for variant in args.variants:
        model = our_model(args, src_vocab, tgt_vocab).to(device)
        fused = args.optimizer == "fused_adam"
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
        systems[variant] = lambda b, m=model, o=optimizer, v=variant: our_step(m, o, b, v)

    for step in systems.values():
        for batch in batches[: args.warmup_steps]:
            step(batch)
    seconds = dict.fromkeys(systems, 0.0)
    tokens = flops = 0
    cursor = args.warmup_steps
    for _ in range(args.rounds):
        chunk = batches[cursor : cursor + args.steps_per_round]
        cursor += args.steps_per_round
        tokens += sum(int((b["labels"] != -100).sum()) for b in chunk)
        flops += sum(useful_flops(b, args, tgt_vocab) for b in chunk)
        for name, step in systems.items():
            synchronize(device)
            started = time.perf_counter()
            for batch in chunk:
                step(batch)
            synchronize(device)  # a GPU step returns before its kernels finish
            seconds[name] += time.perf_counter() - started

    figures = {
        "device": str(device),
        "threads": args.threads if device.type == "cpu" else None,
        "batches": cursor - args.warmup_steps,
        "systems": {},
    }
    base = seconds.get("reference")
    print(f"{'system':<22}{'tgt tok/s':>12}{'x reference':>13}{'x our fp32':>12}{'MFU':>8}")
    for name, spent in seconds.items():
        rate = tokens / spent
        precision = "bf16" if name.startswith("bf16") else "fp32"
        # The peak is this CPU's: off the CPU the utilisation is not reported.
        mfu = flops / spent / 1e9 / PEAK_GFLOPS[precision] if device.type == "cpu" else None
        row = {"tokens_per_s": rate, "mfu": mfu}
        if base:
            row["vs_reference"] = base / spent
        if "fp32" in seconds:
            row["vs_our_fp32"] = seconds["fp32"] / spent
        figures["systems"][name] = row
        print(
            f"{name:<22}{rate:>12,.0f}{row.get('vs_reference', float('nan')):>13.2f}"
            f"{row.get('vs_our_fp32', float('nan')):>12.2f}"
            + (f"{mfu:>8.1%}" if mfu is not None else f"{'n/a':>8}")
        )
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {figures['peak_rss_mb']:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    sys.exit(main() and 0)
