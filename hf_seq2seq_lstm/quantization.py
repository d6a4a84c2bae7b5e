"""Faster CPU inference: dynamic int8 quantization (`quantize_for_cpu`) or bfloat16 weights.

    from hf_seq2seq_lstm.quantization import quantize_for_cpu
    model = quantize_for_cpu(AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True))

`for_cpu_inference(model, quantize)` is what the `--quantize {none,int8,bf16}` flags of the
translate CLI, recipes/score_tsv.py and app.py call. This module imports only torch, so that it
could be inlined into a Space's app.py as alignment.py and plotting.py are.
"""

import copy
import warnings

import torch
from torch import nn
from torch.ao.nn.quantized import dynamic as nnqd
from torch.ao.quantization import quantize_dynamic
from torch.ao.quantization.quantization_mappings import get_default_dynamic_quant_module_mappings

QUANTIZE_CHOICES = ("none", "int8", "bf16")
# The layers whose matrix products are the work of decoding; see `quantize_for_cpu`.
INT8_MODULE_TYPES = (nn.LSTM, nn.GRU, nn.Linear)
# Notices torch gives on every quantize_dynamic call: torch.ao.quantization is deprecated in
# favour of torchao (it still ships and works), and so are quantized tensor constructors.
_TORCH_NOTICES = (
    (DeprecationWarning, r"torch\.ao\.quantization is deprecated"),
    (UserWarning, r".*quantized tensor creation functions .* are deprecated"),
)


class Int8LSTM(nn.LSTM):
    """torch's dynamic int8 LSTM (`self.quantized`) under the type `nn.LSTM`.

    The encoder tells an LSTM's (hidden, cell) state from a GRU's hidden state by
    `isinstance(rnn, nn.LSTM)` (`run_by_length_segments`), and saved folders carry that code as
    remote code. torch's `torch.ao.nn.quantized.dynamic.LSTM` is a class of its own, so the encoder
    would take its state for a GRU's. This module keeps the type and forwards every call; it
    holds no float weights. A GRU needs no such wrapper: its state is one tensor either way.
    """

    def __init__(self, quantized: nnqd.LSTM):
        nn.Module.__init__(self)  # not nn.LSTM's: it would allocate the float weights again
        self.quantized = quantized

    @classmethod
    def from_float(cls, module: nn.LSTM, **kwargs) -> "Int8LSTM":
        """What `quantize_dynamic` calls to replace a float `nn.LSTM` that has a qconfig."""
        return cls(nnqd.LSTM.from_float(module, **kwargs))

    def forward(self, input, hx=None):
        """input (B, T, in) when batch_first, hx an (h, c) pair (layers, B, H) -> as nn.LSTM."""
        return self.quantized(input, hx)

    # nn.LSTM keeps a list of its float weights in step with `.to()`, pickling and copying;
    # there are none here, so the plain nn.Module behaviour applies.
    def _apply(self, fn, recurse=True):
        return nn.Module._apply(self, fn, recurse)

    def __getstate__(self):
        return self.__dict__.copy()

    def __setstate__(self, state):
        nn.Module.__setstate__(self, state)

    def flatten_parameters(self) -> None:
        pass

    def extra_repr(self) -> str:
        return ""


def quantize_for_cpu(model: nn.Module) -> nn.Module:
    """An int8 copy of `model` for CPU inference; `model` itself, and any folder it was loaded
    from or saved to, stay as they are.

    One call to torch's `torch.ao.quantization.quantize_dynamic` over `INT8_MODULE_TYPES`:

    - the encoder's LSTMs/GRUs (one `nn.LSTM` per layer and direction),
    - the decoder's LSTM/GRU (all layers in one module),
    - the Linear layers: the bridge, the attention's key/query/energy projections, `combine`,
      and `lm_head`, the largest matrix (hidden x vocabulary) and run at every step of every
      beam.

    Dynamic quantization stores these weights as int8 (one symmetric scale per tensor) and
    quantizes each activation on the fly from its own range, so no calibration data is needed;
    the matrix products then run in int8 (fbgemm/x86 or qnnpack kernels). The embeddings stay
    float: a lookup does no arithmetic, and shared source/target embeddings stay one
    parameter. With `tie_word_embeddings`, `lm_head` becomes an int8 copy of the
    decoder embedding, which stays float: the copy serves inference only.

    The copy is in eval mode and is for `generate()` and forward passes: it cannot be trained,
    and its `save_pretrained` (and so `push_to_hub`) raises NotImplementedError, where
    transformers would fail on the packed int8 weights with an AttributeError: save the float
    model and quantize again after loading (it takes a moment). torch marks
    `torch.ao.quantization` deprecated in favour of torchao; it still ships and works, and its
    notices are silenced here so that the CLI's stderr stays clean.

    Raises:
        ValueError: `model` is not float32, or not on the CPU (int8 kernels are CPU-only).
    """
    _check_float32_on_cpu(model)
    mapping = {**get_default_dynamic_quant_module_mappings(), nn.LSTM: Int8LSTM}
    with warnings.catch_warnings():
        for category, message in _TORCH_NOTICES:
            warnings.filterwarnings("ignore", message=message, category=category)
        quantized = quantize_dynamic(
            model, set(INT8_MODULE_TYPES), dtype=torch.qint8, mapping=mapping, inplace=False
        )
    if hasattr(quantized, "save_pretrained"):
        quantized.save_pretrained = _refuse_to_save  # on this copy only
    return quantized.eval()


def for_cpu_inference(model: nn.Module, quantize: str = "none") -> nn.Module:
    """`model` for inference as `quantize` (one of QUANTIZE_CHOICES) says.

    "none": `model` itself. "int8": `quantize_for_cpu(model)`. "bf16": a bfloat16 copy, as
    `from_pretrained(..., dtype=torch.bfloat16)` would load it (half the memory; whether it is
    faster depends on the CPU's bfloat16 support). Copies leave `model` untouched.
    """
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)}, got {quantize!r}")
    if quantize == "int8":
        return quantize_for_cpu(model)
    if quantize == "bf16":
        return copy.deepcopy(model).to(torch.bfloat16).eval()
    return model


def _refuse_to_save(*args, **kwargs):
    raise NotImplementedError(
        "this is an int8 copy made by quantize_for_cpu, for inference only: save the float "
        "model, and call quantize_for_cpu again after loading it"
    )


def _check_float32_on_cpu(model: nn.Module) -> None:
    for name, param in model.named_parameters():
        if param.device.type != "cpu":
            raise ValueError(
                f"quantize_for_cpu needs a model on the CPU; {name} is on {param.device} "
                "(call model.cpu() first)"
            )
        if param.dtype != torch.float32:
            raise ValueError(
                f"quantize_for_cpu needs a float32 model; {name} is {param.dtype} "
                "(load it without dtype=, or call model.float() first)"
            )
