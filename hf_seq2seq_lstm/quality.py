"""A model's measured scores, and plainly what they mean: one wording for the card and the demo.

The scores are sacreBLEU's BLEU and chrF (0-100) on the test split, else on the validation
split. They come from a train.py folder's all_results.json, or from a model card's `model-index`
(a published repository's README.md, or a staged folder's). Under chrF 20 a model is called "a
teaching model, not a translator", on the card and on the demo page alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import ModelCard
from huggingface_hub.errors import HTTPError

from .run_records import Results

# Below this chrF most output is wrong: such a model shows how translation is learnt, no more.
TEACHING_MODEL_CHRF = 20.0
# In order of preference: the test split is the measure.
_SPLITS = ("test", "validation")


@dataclass(frozen=True)
class Scores:
    """BLEU and chrF of one held-out split, "test" (preferred) or "validation"."""

    split: str
    bleu: float | None
    chrf: float | None

    def __str__(self) -> str:
        return f"{self.split} BLEU {_number(self.bleu)}, chrF {_number(self.chrf)}"

    def verdict(self) -> str | None:
        """A plain warning (Markdown) where chrF is under TEACHING_MODEL_CHRF, else None."""
        if self.chrf is None or self.chrf >= TEACHING_MODEL_CHRF:
            return None
        return (
            f"**A teaching model, not a translator.** Its {self.split} chrF is under "
            f"{TEACHING_MODEL_CHRF:g}: most of its translations are wrong. It shows how a "
            "recurrent encoder-decoder learns to translate; do not rely on its output."
        )


def scores_from_results(results: Results) -> Scores | None:
    """The scores in a run's all_results.json; None where no split was scored."""
    scored = results.scored_splits()
    for split in _SPLITS:
        scores = scored.get(split)
        if scores and (scores.bleu is not None or scores.chrf is not None):
            return Scores(split, scores.bleu, scores.chrf)
    return None


def scores_from_card(card: ModelCard) -> Scores | None:
    """The scores in a model card's `model-index`; None where it records none."""
    values = {
        (result.dataset_split, result.metric_type): result.metric_value
        for result in card.data.eval_results or []
    }
    for split in _SPLITS:
        bleu, chrf = values.get((split, "bleu")), values.get((split, "chrf"))
        if bleu is not None or chrf is not None:
            return Scores(split, bleu, chrf)
    return None


def read_scores(model: str) -> Scores | None:
    """The measured scores of a model folder or Hub repository, where it records them.

    A train.py folder's all_results.json is read first, else the folder's or repository's
    README.md. None where neither records scores, or the card cannot be fetched (offline).
    """
    folder = Path(model)
    if (folder / Results.FILE).is_file():
        return scores_from_results(Results.read(folder))
    if folder.is_dir() and not (folder / "README.md").is_file():
        return None
    try:
        card = ModelCard.load(folder / "README.md" if folder.is_dir() else model)
    except (OSError, ValueError, HTTPError):
        return None
    return scores_from_card(card)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
