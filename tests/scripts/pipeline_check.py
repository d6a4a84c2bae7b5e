"""Translate a JSON list of sentences with the translation pipeline of a saved folder.

    pipeline_check.py MODEL_DIR SENTENCES_JSON

Prints OUT: the batch's translations and ONE: the first sentence's alone, as JSON. Run by
tests/test_pipeline_cli.py without the package (helpers.run_without_package).
"""

import json
import sys

from transformers import pipeline


def main(folder: str, sentences_json: str) -> None:
    sentences = json.loads(sentences_json)
    translator = pipeline("translation", model=folder, trust_remote_code=True)
    print("OUT:" + json.dumps(translator(sentences, batch_size=2, num_beams=3)))
    print("ONE:" + json.dumps(translator(sentences[0], num_beams=3)))


if __name__ == "__main__":
    main(*sys.argv[1:])
