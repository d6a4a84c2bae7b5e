"""Translate one sentence greedily with a model folder that train.py wrote.

    translate_check.py MODEL_DIR SENTENCE

Prints TRANSLATION:<text>. Run by tests/test_train.py without the package
(helpers.run_without_package).
"""

import sys

from transformers import AutoModelForSeq2SeqLM, AutoTokenizer


def main(folder: str, sentence: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True)
    output = model.generate(
        **tokenizer(sentence, return_tensors="pt"), num_beams=1, max_new_tokens=8
    )
    print("TRANSLATION:" + tokenizer.decode(output[0], skip_special_tokens=True))


if __name__ == "__main__":
    main(*sys.argv[1:])
