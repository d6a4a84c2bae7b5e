"""Corpus BLEU from the `sacrebleu` package, as an `evaluate` metric that loads from a file path.

`evaluate.load("sacrebleu")` reaches for the Hugging Face Hub; loading this file by its absolute
path (see `hf_seq2seq_lstm.metrics.load_metric`) works offline.
"""

import datasets
import evaluate
import sacrebleu

_DESCRIPTION = (
    "Corpus BLEU (sacreBLEU, 13a tokenisation by default) with its reproducibility signature."
)
_INPUTS = """
predictions: list of hypothesis strings.
references: one reference string per prediction, or a list of references per prediction
    (every prediction must have the same number).
lowercase: bool, compare case-insensitively (default False).
tokenize: sacreBLEU tokeniser name (default "13a", the WMT standard).
Returns: score (0-100), precisions, bp, sys_len, ref_len and signature (e.g.
    "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0").
"""
_CITATION = "Post, M. (2018). A Call for Clarity in Reporting BLEU Scores. WMT."


# Repeated in the other metric script: `evaluate` copies each script alone into its module cache,
# so the two cannot import a shared helper.
def reference_streams(references: list) -> list[list[str]]:
    """Turn per-prediction references into sacreBLEU's layout: one stream per reference slot."""
    per_prediction = [[ref] if isinstance(ref, str) else list(ref) for ref in references]
    if len({len(refs) for refs in per_prediction}) > 1:
        raise ValueError("references: every prediction needs the same number of references")
    return [list(stream) for stream in zip(*per_prediction, strict=True)]


# Named so that `evaluate` calls the module "sacrebleu" (it snake-cases the class name).
class Sacrebleu(evaluate.Metric):
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

    def _compute(self, predictions, references, lowercase=False, tokenize="13a") -> dict:
        bleu = sacrebleu.BLEU(lowercase=lowercase, tokenize=tokenize)
        result = bleu.corpus_score(list(predictions), reference_streams(references))
        return {
            "score": result.score,
            "precisions": list(result.precisions),
            "bp": result.bp,
            "sys_len": result.sys_len,
            "ref_len": result.ref_len,
            "signature": str(bleu.get_signature()),
        }
