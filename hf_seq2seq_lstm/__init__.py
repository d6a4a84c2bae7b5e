"""hf_seq2seq_lstm: a Hugging Face-native LSTM/GRU encoder-decoder for Korean->English."""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .data import SAMPLE_CORPUS_LICENSE, load_parallel_corpus, sample_corpus_dir
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
    "SAMPLE_CORPUS_LICENSE",
    "RNNDecoderState",
    "Seq2SeqLSTMConfig",
    "Seq2SeqLSTMForConditionalGeneration",
    "Seq2SeqLSTMModel",
    "load_parallel_corpus",
    "sample_corpus_dir",
    "train_bpe_tokenizer",
]
