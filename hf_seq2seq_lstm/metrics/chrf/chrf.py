"""Corpus chrF and chrF++ from the `sacrebleu` package, as an offline `evaluate` metric.

Load it by absolute path (see `hf_seq2seq_lstm.metrics.load_metric`), never from the Hub.
"""

import datasets
import evaluate
import sacrebleu

_DESCRIPTION = "Character n-gram F-score (chrF; chrF++ with word_order=2) with its signature."
_INPUTS = """
predictions: list of hypothesis strings.
references: one reference string per prediction, or a list of references per prediction
    (every prediction must have the same number).
char_order: character n-gram order (default 6).
word_order: word n-gram order; 0 is chrF, 2 is chrF++ (default 0).
beta: weight of recall against precision (default 2).
lowercase: bool, compare case-insensitively (default False).
Returns: score (0-100), char_order, word_order, beta and signature.
"""
_CITATION = "Popović, M. (2015, 2017). chrF: character n-gram F-score; chrF++. WMT."


# Repeated in the other metric script: `evaluate` copies each script alone into its module cache,
# so the two cannot import a shared helper.
def reference_streams(references: list) -> list[list[str]]:
    """Turn per-prediction references into sacreBLEU's layout: one stream per reference slot."""
    per_prediction = [[ref] if isinstance(ref, str) else list(ref) for ref in references]
    if len({len(refs) for refs in per_prediction}) > 1:
        raise ValueError("references: every prediction needs the same number of references")
    return [list(stream) for stream in zip(*per_prediction, strict=True)]


class Chrf(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=[
                datasets.Features(
                    {
                        "predictions": datasets.Value("string"),
                        "references": datasets.Sequence(datasets.Value("string")),
                    }
                ),
                datasets.Features(
                    {
                        "predictions": datasets.Value("string"),
                        "references": datasets.Value("string"),
                    }
                ),
            ],
        )

    def _compute(
        self, predictions, references, char_order=6, word_order=0, beta=2, lowercase=False
    ) -> dict:
        chrf = sacrebleu.CHRF(
            char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase
        )
        result = chrf.corpus_score(list(predictions), reference_streams(references))
        return {
            "score": result.score,
            "char_order": char_order,
            "word_order": word_order,
            "beta": beta,
            "signature": str(chrf.get_signature()),
        }
