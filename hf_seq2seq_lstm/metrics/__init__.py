"""Offline BLEU and chrF: `evaluate` metric scripts shipped inside the package, wrapping sacreBLEU.

`evaluate.load("sacrebleu")` needs the Hugging Face Hub. Each metric here is a script in its own
folder (`<name>/<name>.py`), loaded by absolute path so that nothing is fetched at run time.
"""

from pathlib import Path

import evaluate

METRICS_DIR = Path(__file__).resolve().parent
AVAILABLE_METRICS = ("sacrebleu", "chrf")


def metric_path(name: str) -> Path:
    """Absolute path of the bundled metric script `name` (one of `AVAILABLE_METRICS`)."""
    if name not in AVAILABLE_METRICS:
        raise ValueError(f"name: unknown metric {name!r}; choose one of {AVAILABLE_METRICS}")
    return METRICS_DIR / name / f"{name}.py"


def load_metric(name: str, **load_kwargs) -> evaluate.EvaluationModule:
    """`evaluate.load` a bundled metric ("sacrebleu" or "chrf") by path; works with HF_HUB_OFFLINE=1.

    `load_kwargs` go to `evaluate.load` (e.g. `keep_in_memory=True`, `experiment_id=...`).
    """
    return evaluate.load(str(metric_path(name)), **load_kwargs)


def compute_translation_scores(
    predictions: list[str], references: list[str] | list[list[str]], chrf_word_order: int = 0
) -> dict:
    """Corpus BLEU (13a) and chrF of `predictions` against `references`, with sacreBLEU signatures.

    `references` holds one string per prediction or a list of references per prediction.
    `chrf_word_order=2` scores chrF++ instead of chrF. Returns
    `{"bleu": float, "chrf": float, "bleu_signature": str, "chrf_signature": str}`.
    """
    # In memory: no cache files or locks that parallel processes could trip over.
    bleu = load_metric("sacrebleu", keep_in_memory=True).compute(
        predictions=predictions, references=references
    )
    chrf = load_metric("chrf", keep_in_memory=True).compute(
        predictions=predictions, references=references, word_order=chrf_word_order
    )
    return {
        "bleu": bleu["score"],
        "chrf": chrf["score"],
        "bleu_signature": bleu["signature"],
        "chrf_signature": chrf["signature"],
    }


def translation_scores_by_group(
    predictions: list[str], references: list[str], groups: list[str]
) -> dict[str, dict]:
    """BLEU and chrF per group (e.g. per `source` column value), in order of first appearance.

    Returns `{group: {"pairs": int, "bleu": float, "chrf": float}}`; the pairs add up to
    `len(predictions)`.
    """
    if not len(predictions) == len(references) == len(groups):
        raise ValueError(
            f"need one reference and one group per prediction, got {len(predictions)} "
            f"predictions, {len(references)} references and {len(groups)} groups"
        )
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    by_group = {}
    for group, indices in members.items():
        scores = compute_translation_scores(
            [predictions[i] for i in indices], [references[i] for i in indices]
        )
        by_group[group] = {"pairs": len(indices), "bleu": scores["bleu"], "chrf": scores["chrf"]}
    return by_group
