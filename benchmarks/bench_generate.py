"""Decoding speed: generate() vs a bare greedy loop, per-token cost, and vs the reference decoder.

    python benchmarks/bench_generate.py

1. Per-token cost of generate() for 50 vs 200 new tokens (greedy and beam 5, batch 16, lengths
   forced with min_new_tokens): a constant-cost recurrent state makes the 200/50 time ratio ~4.
2. generate() greedy vs a minimal hand-written greedy loop over the same model's forward, timed
   alternately: throughput ratio and whether the tokens are identical.
3. Sentences/s translating ../shared/data/koen/test.tsv (batch 64) with our model and with the
   hand-written reference's own greedy and beam-5 decoders, alternately, at the reference's
   architecture. Both models are untrained and </s> is disabled in both, so every sentence
   decodes exactly 1.5 x source + 10 tokens: lengths are forced equal and the length penalty
   cannot change the work.
"""

import argparse
import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from bench_train import SHARED, load_reference

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration

BOS, EOS = 2, 3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions")
    parser.add_argument("--test_sentences", type=int, default=1000, help="test.tsv rows used")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def reference_architecture_model(src_vocab=8000, tgt_vocab=8000):
    config = Seq2SeqLSTMConfig(
        src_vocab_size=src_vocab,
        tgt_vocab_size=tgt_vocab,
        attention="luong",
        bidirectional_encoder=False,
        input_feeding=False,
        dropout=0.3,
    )
    model = Seq2SeqLSTMForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.lm_head.bias[EOS] = -1e4  # never stop early: lengths are forced
    return model


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


@torch.no_grad()
def bare_greedy_loop(model, input_ids, attention_mask, new_tokens):
    """The loop a user would write: encode once, then one cached decoder step per token."""
    encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    tokens = torch.full((input_ids.shape[0], 1), BOS)
    state = None
    for _ in range(new_tokens):
        out = model(
            encoder_outputs=encoder_outputs,
            attention_mask=attention_mask,
            decoder_input_ids=tokens[:, -1:],
            cache=state,
        )
        state = out.cache
        tokens = torch.cat([tokens, out.logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return tokens


def generate(model, input_ids, attention_mask, new_tokens, num_beams, force_length=True):
    """generate() for exactly `new_tokens` tokens. The model never emits </s> (its bias is
    -1e4), so `force_length=False` still decodes the full length, without the min-length
    logits processor that a bare loop would not have either. No n-gram blocking (the model's
    default): neither the bare loop nor the reference decoder does that work."""
    return model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        num_beams=num_beams,
        do_sample=False,
        min_new_tokens=new_tokens if force_length else None,
        max_new_tokens=new_tokens,
        length_penalty=1.0,
        no_repeat_ngram_size=0,
    )


def per_token_cost(model, repeats):
    """ms per generated token for 50 and 200 new tokens, batch 16."""
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(4, 8000, (16, 30), generator=generator)
    mask = torch.ones_like(input_ids)
    figures = {}
    for beams in (1, 5):
        spent = {50: 0.0, 200: 0.0}
        generate(model, input_ids, mask, 5, beams)  # warm-up
        for _ in range(repeats):
            for length in spent:
                spent[length] += timed(
                    lambda n=length, b=beams: generate(model, input_ids, mask, n, b)
                )[1]
        name = "greedy" if beams == 1 else f"beam{beams}"
        figures[name] = {
            "ms_per_token_50": spent[50] / repeats / 50 * 1000,
            "ms_per_token_200": spent[200] / repeats / 200 * 1000,
            "time_ratio_200_vs_50": spent[200] / spent[50],
        }
    return figures


def generate_vs_bare_loop(model, repeats):
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(4, 8000, (16, 30), generator=generator)
    mask = torch.ones_like(input_ids)
    spent = {"generate": 0.0, "bare_loop": 0.0}
    identical = True
    for _ in range(repeats):
        ours, seconds = timed(lambda: generate(model, input_ids, mask, 100, 1, False))
        spent["generate"] += seconds
        bare, seconds = timed(lambda: bare_greedy_loop(model, input_ids, mask, 100))
        spent["bare_loop"] += seconds
        identical &= torch.equal(ours, bare)
    return {
        "throughput_ratio": spent["bare_loop"] / spent["generate"],
        "identical_tokens": identical,
    }


def test_set_batches(reference, args):
    ko, _ = reference.read_tsv(args.shared / "data" / "koen" / "train.tsv")
    with tempfile.TemporaryDirectory() as folder:
        reference.train_tokenizer(ko, 8000, f"{folder}/ko.json")
        tokenizer = reference.load_tokenizer(f"{folder}/ko.json")
    test_ko, _ = reference.read_tsv(args.shared / "data" / "koen" / "test.tsv")
    sources = [ids[:128] for ids in reference.encode_all(tokenizer, test_ko)]
    sources = sources[: args.test_sentences]
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    batches = []
    for start in range(0, len(order), 64):
        rows = [sources[i] for i in order[start : start + 64]]
        batches.append((reference.pad(rows), torch.tensor([len(r) for r in rows])))
    return batches, tokenizer.get_vocab_size()


def test_set_speed(reference, args):
    batches, src_vocab = test_set_batches(reference, args)
    ours = reference_architecture_model(src_vocab, 8000)
    theirs = reference.Seq2Seq(src_vocab, 8000).eval()
    with torch.no_grad():
        theirs.out.bias[EOS] = -1e4
    sentences = sum(len(lengths) for _, lengths in batches)
    figures = {}
    for beams in (1, 5):
        spent = {"reference": 0.0, "ours": 0.0}
        for source, lengths in batches:
            new_tokens = int(1.5 * source.shape[1]) + 10
            if beams == 1:
                run_theirs = partial(reference.greedy, theirs, source, lengths, new_tokens)
            else:
                run_theirs = partial(
                    reference.beam_search, theirs, source, lengths, new_tokens, k=beams, alpha=1.0
                )
            # </s> is disabled, so no min-length processor is needed: the reference has none.
            run_ours = partial(
                generate, ours, source, source.ne(0).long(), new_tokens, beams, force_length=False
            )
            spent["reference"] += timed(run_theirs)[1]
            spent["ours"] += timed(run_ours)[1]
        name = "greedy" if beams == 1 else f"beam{beams}"
        figures[name] = {
            "reference_sent_per_s": sentences / spent["reference"],
            "ours_sent_per_s": sentences / spent["ours"],
            "ratio": spent["reference"] / spent["ours"],
        }
    return figures


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1234)
    model = reference_architecture_model()
    figures = {"per_token": per_token_cost(model, args.repeats)}
    figures["generate_vs_bare_loop"] = generate_vs_bare_loop(model, args.repeats)
    reference = load_reference(args.shared / "bench" / "reference_seq2seq.py")
    figures["test_set"] = test_set_speed(reference, args)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    sys.exit(main() and 0)
