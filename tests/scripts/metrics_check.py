"""Score one sentence against itself with the package's offline metrics; prints the scores as
JSON. Run by tests/test_metrics.py from an unrelated folder, so that the metric scripts must be
found by absolute path."""

import json

from hf_seq2seq_lstm.metrics import compute_translation_scores

if __name__ == "__main__":
    sentence = "the cat sat on the mat"
    print(json.dumps(compute_translation_scores([sentence], [sentence])))
