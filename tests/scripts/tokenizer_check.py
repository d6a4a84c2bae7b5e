"""Load a saved tokenizer in each named way and print what it makes of a sentence.

    tokenizer_check.py MODEL_DIR SENTENCE WAY [WAY ...]

WAY: "fast class", "auto, trusted" or "auto". Prints one line per way,
RESULT:[way, is a PreTrainedTokenizerFast, input ids]. Run by tests/test_hf_conventions.py
without the package (helpers.run_without_package).
"""

import json
import sys

from transformers import AutoTokenizer, PreTrainedTokenizerFast


def main(folder: str, sentence: str, *ways: str) -> None:
    loaders = {
        "fast class": lambda: PreTrainedTokenizerFast.from_pretrained(folder),
        "auto, trusted": lambda: AutoTokenizer.from_pretrained(folder, trust_remote_code=True),
        "auto": lambda: AutoTokenizer.from_pretrained(folder),
    }
    for way in ways:
        tokenizer = loaders[way]()
        fast = isinstance(tokenizer, PreTrainedTokenizerFast)
        print("RESULT:" + json.dumps([way, fast, tokenizer(sentence)["input_ids"]]))


if __name__ == "__main__":
    main(*sys.argv[1:])
