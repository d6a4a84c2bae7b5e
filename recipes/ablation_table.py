"""Print README's ablation table from the row folders of recipes/koen_ablation.sh.

python recipes/ablation_table.py OUT_ROOT
"""

import sys
from pathlib import Path

from hf_seq2seq_lstm.run_records import Results

CHANGES = {
    "luong": "the recipe (bi-LSTM, Luong attention, teacher forcing 1.0)",
    "attention_none": "attention none (context vector only)",
    "bahdanau": "Bahdanau attention",
    "gru": "GRU instead of LSTM",
    "scheduled_sampling": "scheduled sampling, linear 1.0 -> 0.75",
    "curriculum": "curriculum (short pairs first, 300 steps)",
}


def main(argv=None):
    root = Path((argv or sys.argv[1:])[0])
    print("| row | test BLEU (greedy) | test chrF | train loss | train time | target tok/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, change in CHANGES.items():
        if not (root / name / Results.FILE).is_file():
            print(f"| {change} | not run | | | | |")
            continue
        results = Results.read(root / name)
        print(
            f"| {change} | {results.test.bleu:.2f} | {results.test.chrf:.1f} | "
            f"{results.train_loss:.2f} | {results.train_runtime_s / 60:.1f} min | "
            f"{results.train_target_tokens_per_s:,.0f} |"
        )


if __name__ == "__main__":
    main()
