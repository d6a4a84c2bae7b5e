"""hf_seq2seq_lstm: a Hugging Face-native LSTM/GRU encoder-decoder for Korean->English."""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .data import (
    BUILTIN_CORPORA,
    builtin_corpus_dir,
    builtin_corpus_files,
    builtin_corpus_license,
    load_parallel_corpus,
)
from .modeling_seq2seq_lstm import (
    RNNDecoderState,
    Seq2SeqLSTMForConditionalGeneration,
    Seq2SeqLSTMModel,
)
from .tokenization import train_bpe_tokenizer

__version__ = "0.1.0"

# In-process registration, so the Auto classes work without trust_remote_code here.
AutoConfig.register("seq2seq_lstm", Seq2SeqLSTMConfig, exist_ok=True)
AutoModel.register(Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration, exist_ok=True)
AutoModelForSeq2SeqLM.register(
    Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration, exist_ok=True
)

__all__ = [
    "BUILTIN_CORPORA",
    "RNNDecoderState",
    "Seq2SeqLSTMConfig",
    "Seq2SeqLSTMForConditionalGeneration",
    "Seq2SeqLSTMModel",
    "builtin_corpus_dir",
    "builtin_corpus_files",
    "builtin_corpus_license",
    "load_parallel_corpus",
    "train_bpe_tokenizer",
]
