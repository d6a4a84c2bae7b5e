"""hf_seq2seq_lstm: a Hugging Face-native LSTM/GRU encoder-decoder for Korean->English."""

from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM, pipelines

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
from .pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline
from .tokenization import train_bpe_tokenizer

__version__ = "0.1.0"

# In-process registration, so the Auto classes work without trust_remote_code here.
AutoConfig.register("seq2seq_lstm", Seq2SeqLSTMConfig, exist_ok=True)
AutoModel.register(Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration, exist_ok=True)
AutoModelForSeq2SeqLM.register(
    Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration, exist_ok=True
)
# `pipeline("translation", model=<model object>, tokenizer=...)`: a folder finds the pipeline
# through config.json's `custom_pipelines`, an object only through the registry. transformers 5
# rejects the task name as removed before it reads the registry, so the rejection is lifted.
pipelines.REMOVED_TASKS.pop("translation", None)
pipelines.PIPELINE_REGISTRY.register_pipeline(
    "translation",
    pipeline_class=Seq2SeqLSTMTranslationPipeline,
    pt_model=AutoModelForSeq2SeqLM,
    type="text",
)

__all__ = [
    "BUILTIN_CORPORA",
    "RNNDecoderState",
    "Seq2SeqLSTMConfig",
    "Seq2SeqLSTMForConditionalGeneration",
    "Seq2SeqLSTMModel",
    "Seq2SeqLSTMTranslationPipeline",
    "builtin_corpus_dir",
    "builtin_corpus_files",
    "builtin_corpus_license",
    "load_parallel_corpus",
    "train_bpe_tokenizer",
]
