"""What the translate CLI, the demo page and train.py share to use a trained model: where it is
by default, how it is loaded, and how its attention is drawn.

Imports none of the model's code: a model is loaded through its remote code, as users load it,
and a Space carries a copy of this file beside app.py.
"""

from pathlib import Path

from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from .alignment import Alignment
from .plotting import plot_attention
from .quantization import for_cpu_inference

# train.py's --output_dir, where the CLI, the demo page and push_to_hub.py look by default.
DEFAULT_MODEL_DIR = "outputs/ko-en-lstm"


def load_model_and_tokenizer(name: str, quantize: str = "none") -> tuple:
    """The model, in evaluation mode, and the tokenizer of a model folder or Hub repository.

    Their remote code is trusted, as the model card says to. quantize: "none", "int8" or "bf16"
    (`quantization.for_cpu_inference`); the folder itself is only read.

    Raises:
        OSError: transformers' error for a folder or repository without a loadable model.
    """
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(name, trust_remote_code=True).eval()
    return for_cpu_inference(model, quantize), tokenizer


def plot_alignment(alignment: Alignment, path: str | Path, title: str | None = None) -> Path | None:
    """Draw `alignment` (see `alignment.translate_with_attention`) as a heatmap PNG at `path`.

    Returns the path written, or None, writing nothing, for a model without attention.
    """
    if alignment.weights is None:
        return None
    return plot_attention(
        alignment.weights, alignment.source_tokens, alignment.target_tokens, path, title=title
    )
