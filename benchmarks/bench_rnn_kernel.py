"""What bf16 autocast buys the fused RNN kernel itself: forward and backward timed apart.

    python benchmarks/bench_rnn_kernel.py                  # 2-layer LSTM 512, batch 64, 30 steps
    python benchmarks/bench_rnn_kernel.py --cell_type gru --steps 60

The recurrences are about half of a bf16 training step (README "Performance"), so this kernel's
bf16/fp32 speed-up caps what bf16 can do for the whole step. `nn.LSTM`/`nn.GRU` run on oneDNN
(`mkldnn_rnn_layer`) on CPU in both precisions; rounds alternate fp32 and bf16 so that machine
noise hits both alike. Prints milliseconds per call and the bf16 speed-up of each pass.
"""

import argparse
import time

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell_type", choices=("lstm", "gru"), default="lstm", help="RNN cell")
    parser.add_argument("--input_dim", type=int, default=256, help="first layer's input width")
    parser.add_argument("--hidden_dim", type=int, default=512, help="H")
    parser.add_argument("--num_layers", type=int, default=2, help="layers")
    parser.add_argument("--batch_size", type=int, default=64, help="sentences")
    parser.add_argument("--steps", type=int, default=30, help="time steps (sequence length)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--calls_per_round", type=int, default=10, help="timed calls per round")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    return parser.parse_args(argv)


def timed_call(rnn, inputs, bf16):
    """Seconds of one forward and of its backward."""
    started = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        outputs, _ = rnn(inputs)
    forward_done = time.perf_counter()
    outputs.backward(torch.ones_like(outputs))
    return forward_done - started, time.perf_counter() - forward_done


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    rnn_class = torch.nn.LSTM if args.cell_type == "lstm" else torch.nn.GRU
    rnn = rnn_class(args.input_dim, args.hidden_dim, num_layers=args.num_layers, batch_first=True)
    inputs = torch.randn(args.batch_size, args.steps, args.input_dim, requires_grad=True)
    totals = {precision: [0.0, 0.0] for precision in ("fp32", "bf16")}
    for precision in totals:  # warm-up: oneDNN builds its primitives on the first calls
        for _ in range(3):
            timed_call(rnn, inputs, precision == "bf16")
    for _ in range(args.rounds):
        for precision, total in totals.items():
            for _ in range(args.calls_per_round):
                forward, backward = timed_call(rnn, inputs, precision == "bf16")
                total[0] += forward
                total[1] += backward
    calls = args.rounds * args.calls_per_round
    fp32, bf16 = ([seconds * 1000 / calls for seconds in totals[p]] for p in ("fp32", "bf16"))
    print(
        f"{args.num_layers}-layer {args.cell_type.upper()} {args.hidden_dim}, input "
        f"{args.input_dim}, batch {args.batch_size} x {args.steps} steps, {args.threads} threads"
    )
    print(f"{'pass':<18}{'fp32 ms':>10}{'bf16 ms':>10}{'bf16 speed-up':>15}")
    rows = [("forward", fp32[0], bf16[0]), ("backward", fp32[1], bf16[1])]
    rows.append(("forward+backward", sum(fp32), sum(bf16)))
    for name, fp32_ms, bf16_ms in rows:
        print(f"{name:<18}{fp32_ms:>10.1f}{bf16_ms:>10.1f}{fp32_ms / bf16_ms:>15.2f}")
    return {"fp32_ms": fp32, "bf16_ms": bf16}


if __name__ == "__main__":
    main()
