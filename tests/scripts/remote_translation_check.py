"""Translate with a staged Hub folder through its remote code, by every route a user has.

    remote_translation_check.py MODEL_DIR EXPECTED_JSON

EXPECTED_JSON holds the sources and the ids and texts the package itself produced. Run by
tests/test_hub.py without the package (helpers.run_without_package); prints
"remote translation ok".
"""

import json
import sys

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer, pipeline


def main(folder: str, expected_file: str) -> None:
    with open(expected_file, encoding="utf-8") as handle:
        expected = json.load(handle)
    try:
        import hf_seq2seq_lstm  # noqa: F401

        raise SystemExit("the package must not be importable here")
    except ImportError:
        pass
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert config.model_type == "seq2seq_lstm", config.model_type
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    inputs = tokenizer(expected["sources"], return_tensors="pt", padding=True)
    for auto in (AutoModel, AutoModelForSeq2SeqLM):
        model = auto.from_pretrained(folder, trust_remote_code=True).eval()
        ids = model.generate(**inputs, num_beams=1, max_new_tokens=8).tolist()
        assert ids == expected["ids"], (auto.__name__, ids, expected["ids"])
    translator = pipeline("translation", model=folder, trust_remote_code=True)
    outputs = translator(expected["sources"], num_beams=1, max_new_tokens=8)
    texts = [output["translation_text"] for output in outputs]
    assert texts == expected["texts"], (texts, expected["texts"])
    print("remote translation ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
