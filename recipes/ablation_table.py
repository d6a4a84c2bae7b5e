"""Print README's ablation table from the row folders of recipes/koen_ablation.sh, and draw
every finished row's validation curve in one figure with --plot.

python recipes/ablation_table.py OUT_ROOT [--plot PNG]
"""

import argparse
from pathlib import Path

from hf_seq2seq_lstm.plotting import plot_validation_curves
from hf_seq2seq_lstm.run_records import LogHistory, Results

CHANGES = {
    "recipe": "the recipe (bi-GRU, Luong attention, teacher forcing 1.0)",
    "lstm": "LSTM instead of GRU",
    "attention_none": "attention none (context vector only)",
    "bahdanau": "Bahdanau attention",
    "scheduled_sampling": "scheduled sampling, linear 1.0 -> 0.75, `exact` mode",
    "scheduled_sampling_two_pass": "scheduled sampling, linear 1.0 -> 0.75, `two_pass` mode",
    "curriculum": "curriculum (short pairs first, 300 steps)",
}
HEADER = (
    "| row | epochs | target tok/s | validation chrF by epoch | test BLEU | test chrF |\n"
    "| --- | ---: | ---: | --- | ---: | ---: |"
)


def row(change: str, folder: Path) -> str:
    """One table row: a finished run's figures, or "not run"."""
    if not (folder / Results.FILE).is_file():
        return f"| {change} | not run | | | | |"
    results = Results.read(folder)
    curve = ", ".join(
        f"{entry.validation.chrf:.1f}"
        for entry in LogHistory.read(folder).entries
        if entry.validation is not None and entry.validation.chrf is not None
    )
    return (
        f"| {change} | {results.epochs:.1f} | {results.train_target_tokens_per_s:,.0f} | "
        f"{curve} | {results.test.bleu:.2f} | {results.test.chrf:.2f} |"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="OUT_ROOT of recipes/koen_ablation.sh")
    parser.add_argument("--plot", type=Path, help="write the rows' validation chrF curves here")
    args = parser.parse_args(argv)
    print(HEADER)
    for name, change in CHANGES.items():
        print(row(change, args.root / name))
    finished = [name for name in CHANGES if (args.root / name / Results.FILE).is_file()]
    if args.plot and finished:
        histories = {name: LogHistory.read(args.root / name).entries for name in finished}
        print(f"validation curves: {plot_validation_curves(histories, args.plot)}")


if __name__ == "__main__":
    main()
