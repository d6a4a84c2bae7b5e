"""Load a saved model through the Auto classes' remote code and compare it with the reference.

    remote_model_check.py MODEL_DIR TENSORS_PT

TENSORS_PT holds input_ids, attention_mask, labels and the expected logits and generated tokens.
Run by tests/test_modeling.py without the package (helpers.run_without_package); prints
"remote ok".
"""

import sys

import torch
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM


def main(folder: str, tensors_file: str) -> None:
    sys.path = [p for p in sys.path if p not in ("", ".") and "hf_seq2seq_lstm" not in p]
    try:
        import hf_seq2seq_lstm  # noqa: F401

        raise SystemExit("the package must not be importable here")
    except ImportError:
        pass
    tensors = torch.load(tensors_file)
    assert AutoConfig.from_pretrained(folder, trust_remote_code=True).model_type == "seq2seq_lstm"
    for auto in (AutoModel, AutoModelForSeq2SeqLM):
        model = auto.from_pretrained(folder, trust_remote_code=True).eval()
        logits = model(
            input_ids=tensors["input_ids"],
            attention_mask=tensors["attention_mask"],
            labels=tensors["labels"],
        ).logits
        assert torch.equal(logits, tensors["logits"]), auto.__name__
        tokens = model.generate(
            input_ids=tensors["input_ids"],
            attention_mask=tensors["attention_mask"],
            max_new_tokens=6,
        )
        assert torch.equal(tokens, tensors["tokens"]), auto.__name__
    print("remote ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
