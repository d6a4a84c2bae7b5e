"""Train a Korean->English LSTM/GRU translator with Accelerate.

    python train.py                                   # the built-in koen corpus (16k pairs)
    python train.py --builtin_corpus sample --max_train_steps 20   # a smoke run in seconds
    accelerate launch train.py --train_file ... --validation_file ... --test_file ... --do_predict

Teacher forcing with an optional scheduled-sampling decay, an easy-first curriculum, BLEU/chrF
on the validation set, atomic checkpoints and exact resume. The output folder loads with
`AutoModelForSeq2SeqLM.from_pretrained(output_dir, trust_remote_code=True)`.
"""

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import datasets
import numpy as np
import torch
import transformers
from accelerate import Accelerator
from accelerate.utils import set_seed
from safetensors.torch import load_model as load_model_weights
from safetensors.torch import save_model as save_model_weights
from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm
from transformers import AutoTokenizer, DataCollatorForSeq2Seq, get_scheduler

import hf_seq2seq_lstm
from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.alignment import translate_with_attention
from hf_seq2seq_lstm.averaging import average_weight_files
from hf_seq2seq_lstm.configuration_seq2seq_lstm import (
    ATTENTION_TYPES,
    CELL_TYPES,
    INIT_SCHEMES,
    SCHEDULED_SAMPLING_MODES,
)
from hf_seq2seq_lstm.cpu_memory import bound_onednn_cache, release_free_memory
from hf_seq2seq_lstm.data import (
    BUILTIN_CORPORA,
    DEFAULT_BUILTIN_CORPUS,
    builtin_corpus_files,
    builtin_corpus_license,
    load_parallel_corpus,
)
from hf_seq2seq_lstm.inference import DEFAULT_MODEL_DIR, plot_alignment
from hf_seq2seq_lstm.metrics import compute_translation_scores, translation_scores_by_group
from hf_seq2seq_lstm.plotting import plot_training_curves
from hf_seq2seq_lstm.run_records import DataInfo, LogHistory, Results, RunInfo, looks_like_aihub
from hf_seq2seq_lstm.schedules import SCHEDULES, LengthBucketBatchSampler, teacher_forcing_ratio
from hf_seq2seq_lstm.tokenization import (
    BYTE_TOKENS,
    SPECIAL_TOKENS,
    train_bpe_tokenizer,
    with_bpe_dropout,
)

logger = logging.getLogger("train")
transformers.utils.logging.disable_progress_bar()  # save/load bars would break the training bar
# pyarrow 25 deprecates an argument that `datasets` still passes when sorting: not ours to fix.
warnings.filterwarnings("ignore", message="Specifying null_placement", category=FutureWarning)
# One bar per long stage: datasets' per-split bars only for corpora where a stage takes a while.
LARGE_CORPUS_PAIRS = 100_000

CHECKPOINT_PREFIX = "checkpoint-"
STATE_FILE = "training_state.json"
CHECKPOINT_TOKENIZER_DIR = "tokenizer"  # a resumed run keeps its token ids
SNAPSHOT_DIR = "averaging"  # the weights of evaluated steps that checkpoint averaging may use
METRICS_FOR_BEST_MODEL = ("chrf", "bleu", "loss")
# Numeric flags and their valid ranges, checked before any work (None means unset).
AT_LEAST_ONE_FLAGS = (
    "num_train_epochs", "max_train_steps", "per_device_train_batch_size",
    "per_device_eval_batch_size", "gradient_accumulation_steps", "num_beams", "eval_steps",
    "eval_num_beams", "eval_max_samples", "max_predict_samples", "early_stopping_patience",
    "checkpoints_total_limit", "logging_steps", "preprocessing_num_workers", "num_threads",
    "max_source_length", "max_target_length",
)  # fmt: skip
NON_NEGATIVE_FLAGS = (
    "weight_decay",
    "num_warmup_steps",
    "max_grad_norm",
    "seed",
    "no_repeat_ngram_size",
)

# The defaults are the small-corpus settings measured best on the built-in koen corpus (14k
# pairs; README "Translation quality"): the model's fields, then the training's.
SMALL_CORPUS_DEFAULTS = {
    "cell_type": "lstm",
    "embedding_dim": 512,
    "hidden_dim": 512,
    "tie_word_embeddings": True,
    "share_embeddings": True,
}
TRAINING_DEFAULTS = {
    "vocab_size": 4000,
    "learning_rate": 2e-3,
    "num_warmup_steps": 300,
    "label_smoothing": 0.1,
}
# Everything a run writes into --output_dir: what --overwrite_output_dir removes.
RUN_OUTPUT_PATTERNS = (
    "checkpoint-*", ".partial-*", SNAPSHOT_DIR, "*.safetensors", "config.json",
    "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "*_seq2seq_lstm.py", "training_args.json", "all_results.json", "run_info.json",
    "log_history.json", "test_predictions.txt", "*.png",
)  # fmt: skip
SAMPLE_TRANSLATIONS = 3
TRIM_EVERY_STEPS = 10  # malloc_trim: keeps RSS near the working set (hf_seq2seq_lstm/cpu_memory.py)


# --- arguments ------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,  # every flag shows its default
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--train_file", nargs="+", help="training files (AI Hub xlsx/json, csv/tsv, x.ko+x.en)"
    )
    data.add_argument("--validation_file", nargs="+", help="validation files (else carved)")
    data.add_argument("--test_file", nargs="+", help="test files, scored with --do_predict")
    data.add_argument("--dataset_name", help="a Hub dataset (or a local folder laid out as one)")
    data.add_argument("--dataset_config_name", help="the Hub dataset's configuration")
    data.add_argument(
        "--builtin_corpus",
        choices=tuple(BUILTIN_CORPORA),
        default=DEFAULT_BUILTIN_CORPUS,
        help="corpus shipped with the package, used when no --train_file/--dataset_name is given: "
        "koen (16,468 openly licensed pairs, CC BY-SA 4.0) or sample (474 pairs, for smoke runs)",
    )
    data.add_argument("--source_column", help="name of the Korean column (unset: ko, else 원문)")
    data.add_argument("--target_column", help="name of the English column (unset: en, else 번역문)")
    data.add_argument(
        "--dataset_license",
        help="licence of the training data, recorded for the model card (e.g. cc-by-sa-4.0)",
    )
    data.add_argument(
        "--validation_split",
        type=float,
        default=0.05,
        help="share of training pairs held out for validation when no validation file is given",
    )
    data.add_argument(
        "--max_source_length", type=int, default=128, help="longer sources (tokens) are dropped"
    )
    data.add_argument(
        "--max_target_length", type=int, default=128, help="longer targets (tokens) are dropped"
    )
    data.add_argument(
        "--preprocessing_num_workers", type=int, help="processes for datasets.map / loading"
    )
    data.add_argument("--tokenizer_name", help="reuse a trained tokenizer (folder or Hub id)")
    data.add_argument(
        "--source_lang", default="ko", help="source language code (this package: ko only)"
    )
    data.add_argument(
        "--target_lang", default="en", help="target language code (this package: en only)"
    )
    data.add_argument(
        "--truncate_long_pairs",
        action="store_true",
        help="cut sources and targets longer than --max_source_length/--max_target_length "
        "instead of dropping the pair",
    )
    data.add_argument(
        "--vocab_size",
        type=int,
        default=TRAINING_DEFAULTS["vocab_size"],
        help="joint BPE vocabulary size to train",
    )
    data.add_argument(
        "--bpe_dropout",
        type=float,
        default=0.0,
        help="BPE-dropout of the training batches (Provilkov et al. 2020): each merge is skipped "
        "with this probability, freshly per batch; validation, test and the saved tokenizer stay "
        "deterministic. Not bit-reproducible (tokenizers draws its own randomness).",
    )

    start = parser.add_argument_group("starting point")
    start.add_argument(
        "--model_name_or_path",
        help="fine-tune or continue a trained model (a folder or Hub id): its weights, config and "
        "tokenizer; architecture flags given with it must agree with its config, "
        "regularisation flags (dropout, word dropout, label smoothing) override it",
    )
    start.add_argument(
        "--config_name",
        help="a new model with the architecture of this config (folder, config.json or Hub id) "
        "instead of the architecture flags; vocabulary sizes come from the tokenizer",
    )
    model = parser.add_argument_group("model (Seq2SeqLSTMConfig fields)")
    defaults = Seq2SeqLSTMConfig(**SMALL_CORPUS_DEFAULTS)
    model.add_argument(
        "--cell_type",
        choices=CELL_TYPES,
        default=defaults.cell_type,
        help="recurrent cell of encoder and decoder",
    )
    model.add_argument(
        "--attention",
        choices=ATTENTION_TYPES,
        default=defaults.attention,
        help="attention over the encoder outputs (none: context vector only)",
    )
    model.add_argument(
        "--embedding_dim",
        type=int,
        default=defaults.embedding_dim,
        help="size of the token embeddings",
    )
    model.add_argument(
        "--hidden_dim",
        type=int,
        default=defaults.hidden_dim,
        help="decoder state size (a bidirectional encoder gives each direction half)",
    )
    model.add_argument(
        "--num_layers",
        type=int,
        default=defaults.num_layers,
        help="RNN layers in encoder and decoder",
    )
    model.add_argument(
        "--dropout",
        type=float,
        default=defaults.dropout,
        help="dropout on embeddings, between layers and before the output layer",
    )
    model.add_argument(
        "--source_word_dropout",
        type=float,
        default=defaults.source_word_dropout,
        help="probability of zeroing a whole source token embedding in training",
    )
    model.add_argument(
        "--target_word_dropout",
        type=float,
        default=defaults.target_word_dropout,
        help="probability of zeroing a whole decoder-input token embedding in training",
    )
    model.add_argument(
        "--unidirectional_encoder",
        action="store_true",
        help="read the source left to right only (default: bidirectional)",
    )
    model.add_argument(
        "--input_feeding", action="store_true", help="feed each output vector to the next step"
    )
    model.add_argument(
        "--tie_word_embeddings",
        action=argparse.BooleanOptionalAction,
        default=defaults.tie_word_embeddings,
        help="share decoder embedding and output layer (needs embedding_dim == hidden_dim)",
    )
    model.add_argument(
        "--share_embeddings",
        action=argparse.BooleanOptionalAction,
        default=defaults.share_embeddings,
        help="share encoder and decoder embeddings (one joint vocabulary)",
    )
    model.add_argument(
        "--init_scheme",
        choices=INIT_SCHEMES,
        default=defaults.init_scheme,
        help="weight initialisation (see Seq2SeqLSTMConfig)",
    )
    model.add_argument(
        "--init_range",
        type=float,
        default=defaults.init_range,
        help="bound of --init_scheme uniform",
    )

    teacher = parser.add_argument_group("teacher forcing and curriculum")
    teacher.add_argument(
        "--teacher_forcing_ratio",
        type=float,
        default=1.0,
        help="probability of feeding the gold previous token (with --scheduled_sampling none)",
    )
    teacher.add_argument(
        "--scheduled_sampling",
        choices=SCHEDULES,
        default="none",
        help="decay of the teacher-forcing ratio from --scheduled_sampling_start to _end",
    )
    teacher.add_argument(
        "--scheduled_sampling_start", type=float, default=1.0, help="ratio at the first step"
    )
    teacher.add_argument(
        "--scheduled_sampling_end", type=float, default=0.75, help="ratio at the last step"
    )
    teacher.add_argument(
        "--scheduled_sampling_k",
        type=float,
        help="constant k of the exponential and inverse_sigmoid schedules",
    )
    teacher.add_argument(
        "--scheduled_sampling_unit",
        choices=("step", "epoch"),
        default="step",
        help="the schedule decays per optimizer step or per epoch",
    )
    teacher.add_argument(
        "--scheduled_sampling_mode",
        choices=SCHEDULED_SAMPLING_MODES,
        default="exact",
        help="exact: step-by-step decoder; two_pass: fused, predictions made on gold prefixes",
    )
    teacher.add_argument(
        "--curriculum",
        action="store_true",
        help="start with short pairs and widen the pool to all pairs over --curriculum_steps",
    )
    teacher.add_argument(
        "--curriculum_steps", type=int, default=1000, help="optimizer steps to reach all pairs"
    )
    teacher.add_argument(
        "--curriculum_start", type=float, default=0.2, help="share of pairs in the first pool"
    )

    train = parser.add_argument_group("training")
    train.add_argument(
        "--output_dir",
        default=DEFAULT_MODEL_DIR,
        help="folder of the trained model, its run records and checkpoints",
    )
    train.add_argument(
        "--num_train_epochs", type=int, default=20, help="passes over the training data"
    )
    train.add_argument("--max_train_steps", type=int, help="optimizer steps (overrides epochs)")
    train.add_argument(
        "--max_train_minutes",
        type=float,
        help="stop training after this many minutes of it (resumed runs count their earlier "
        "minutes), then select, evaluate, test and save as a finished run does",
    )
    train.add_argument(
        "--per_device_train_batch_size", type=int, default=64, help="training sentences per batch"
    )
    train.add_argument(
        "--per_device_eval_batch_size", type=int, default=64, help="sentences per decoding batch"
    )
    train.add_argument(
        "--learning_rate",
        type=float,
        default=TRAINING_DEFAULTS["learning_rate"],
        help="peak AdamW learning rate",
    )
    train.add_argument("--weight_decay", type=float, default=0.0, help="AdamW weight decay")
    train.add_argument(
        "--lr_scheduler_type",
        default="linear",
        choices=[s.value for s in transformers.SchedulerType],
        help="transformers learning-rate schedule",
    )
    train.add_argument(
        "--num_warmup_steps",
        type=int,
        default=TRAINING_DEFAULTS["num_warmup_steps"],
        help="optimizer steps of linear learning-rate warm-up",
    )
    train.add_argument(
        "--gradient_accumulation_steps",
        type=int,
        default=1,
        help="micro-batches accumulated into one optimizer step",
    )
    train.add_argument(
        "--max_grad_norm",
        type=float,
        default=1.0,
        help="clip gradients to this global norm (0: off)",
    )
    train.add_argument(
        "--label_smoothing",
        type=float,
        default=TRAINING_DEFAULTS["label_smoothing"],
        help="label smoothing of the training loss",
    )
    train.add_argument(
        "--mixed_precision",
        choices=("no", "bf16", "fp16"),
        help="autocast precision (unset: the accelerate config's; bf16 needs a CPU or GPU that computes it)",
    )
    train.add_argument("--seed", type=int, default=1234, help="seed of everything random")
    train.add_argument("--num_threads", type=int, help="torch threads per process")
    train.add_argument(
        "--eval_steps", type=int, help="evaluate every N optimizer steps (default: each epoch)"
    )
    train.add_argument("--num_beams", type=int, default=5, help="beam size of the test and model")
    train.add_argument(
        "--length_penalty",
        type=float,
        default=1.2,
        help="beam score / length**penalty (above 1 favours longer translations)",
    )
    train.add_argument(
        "--no_repeat_ngram_size",
        type=int,
        default=3,
        help="the model's decoding never repeats a token n-gram of this size (0: allowed); "
        "stops the loops a small model falls into",
    )
    train.add_argument(
        "--eval_num_beams", type=int, help="beam size on validation (default: --num_beams)"
    )
    train.add_argument(
        "--eval_max_samples", type=int, help="score at most N validation pairs during training"
    )
    train.add_argument(
        "--max_predict_samples", type=int, help="score at most N test pairs (smoke runs)"
    )
    train.add_argument(
        "--metric_for_best_model",
        choices=METRICS_FOR_BEST_MODEL,
        default="chrf",
        help="validation score that selects the kept model (loss: teacher-forced, lower is "
        "better); chrF by default, since BLEU on a few hundred sentences is mostly noise",
    )
    train.add_argument(
        "--average_checkpoints",
        type=int,
        default=0,
        help="average the weights of N evaluated steps into a candidate final model, kept when "
        "it scores at least as well on validation as the best single step (0: off)",
    )
    train.add_argument(
        "--average_checkpoints_by",
        choices=("last", "best"),
        default="last",
        help="which evaluated steps --average_checkpoints uses: the last N or the best N",
    )
    train.add_argument(
        "--early_stopping_patience",
        type=int,
        help="stop after N evaluations without a better --metric_for_best_model",
    )
    train.add_argument(
        "--checkpointing_steps", help="save state every N optimizer steps, or 'epoch'"
    )
    train.add_argument("--checkpoints_total_limit", type=int, help="keep the newest N")
    train.add_argument(
        "--resume_from_checkpoint",
        help="a checkpoint folder, or 'latest': the newest intact checkpoint in --output_dir",
    )
    train.add_argument(
        "--overwrite_output_dir",
        action="store_true",
        help="replace a previous run in --output_dir (its files only); without it such a "
        "folder is refused",
    )
    train.add_argument("--do_predict", action="store_true", help="score --test_file at the end")
    train.add_argument(
        "--with_tracking", action="store_true", help="log metrics to the trackers of --report_to"
    )
    train.add_argument("--report_to", default="all", help="accelerate trackers (tensorboard…)")
    train.add_argument("--logging_steps", type=int, default=10, help="log loss every N steps")
    train.add_argument("--push_to_hub", action="store_true", help="publish at the end")
    train.add_argument("--hub_model_id", help="user/name of the Hub repository")
    train.add_argument(
        "--hub_token", help="Hub token for --push_to_hub (unset: HF_TOKEN or the saved login)"
    )
    args = parser.parse_args(argv)
    base = args.model_name_or_path or args.config_name
    if base:  # first: the architecture flags then describe the starting model
        given = {
            token.split("=")[0][2:].removeprefix("no-")
            for token in (sys.argv[1:] if argv is None else argv)
            if token.startswith("--")
        }
        adopt_architecture(args, load_base_config(base), given)
    validate_args(args)
    return args


# Config fields a fine-tuning run may change: they do not touch the weights' shapes.
REGULARISATION_FIELDS = (
    "dropout", "source_word_dropout", "target_word_dropout", "label_smoothing",
    "scheduled_sampling_mode",
)  # fmt: skip
# Flags that fix the shape of the weights: a starting model's config decides them.
ARCHITECTURE_FLAGS = {
    "cell_type": "cell_type",
    "attention": "attention",
    "embedding_dim": "embedding_dim",
    "hidden_dim": "hidden_dim",
    "num_layers": "num_layers",
    "input_feeding": "input_feeding",
    "tie_word_embeddings": "tie_word_embeddings",
    "share_embeddings": "share_embeddings",
}


def load_base_config(name: str) -> Seq2SeqLSTMConfig:
    try:
        return Seq2SeqLSTMConfig.from_pretrained(name)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise SystemExit(f"error: cannot load the config of {name}: {first_line}") from None


def adopt_architecture(args, config: Seq2SeqLSTMConfig, given: set[str]) -> None:
    """Take the architecture from `config`; refuse flags given on the command line that
    disagree with it (a silently different model would not load the weights)."""
    base = args.model_name_or_path or args.config_name
    wanted = {flag: getattr(config, field) for flag, field in ARCHITECTURE_FLAGS.items()}
    wanted["unidirectional_encoder"] = not config.bidirectional_encoder
    for flag, value in wanted.items():
        if flag in given and getattr(args, flag) != value:
            raise SystemExit(
                f"error: --{flag} {getattr(args, flag)} disagrees with {base} ({value}); drop "
                "the flag to keep the model's architecture"
            )
        setattr(args, flag, value)


def validate_args(args: argparse.Namespace) -> None:
    """Refuse inconsistent arguments before any work is done."""
    if args.dataset_name and args.train_file:
        raise SystemExit("error: give --dataset_name or --train_file, not both")
    if args.model_name_or_path and args.config_name:
        raise SystemExit("error: give --model_name_or_path or --config_name, not both")
    for name, language in (("source_lang", "ko"), ("target_lang", "en")):
        if getattr(args, name) != language:
            raise SystemExit(
                f"error: --{name} {getattr(args, name)}: this package translates Korean (ko) to "
                f"English (en) only, so --{name} must be {language}"
            )
    for name in ("train_file", "validation_file", "test_file"):
        for path in getattr(args, name) or []:
            if not any(ch in path for ch in "*?[") and not Path(path).exists():
                raise SystemExit(f"error: --{name} {path} does not exist")
    if not 0.0 <= args.validation_split < 1.0:
        raise SystemExit(
            f"error: --validation_split must be in [0, 1), got {args.validation_split}"
        )
    if args.do_predict and not (args.test_file or _is_builtin_corpus(args) or args.dataset_name):
        raise SystemExit("error: --do_predict needs --test_file")
    if (
        args.tokenizer_name
        and Path(args.tokenizer_name).suffix
        and not Path(args.tokenizer_name).exists()
    ):
        raise SystemExit(f"error: --tokenizer_name {args.tokenizer_name} does not exist")
    for name in ("teacher_forcing_ratio", "scheduled_sampling_start", "scheduled_sampling_end"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise SystemExit(f"error: --{name} must be in [0, 1], got {getattr(args, name)}")
    if args.scheduled_sampling != "none":
        if args.scheduled_sampling_end > args.scheduled_sampling_start:
            raise SystemExit(
                "error: --scheduled_sampling_end must not exceed --scheduled_sampling_start "
                f"({args.scheduled_sampling_end} > {args.scheduled_sampling_start})"
            )
        # Checks k and the schedule's other arguments with the schedule's own validation.
        try:
            teacher_forcing_ratio(
                args.scheduled_sampling,
                0,
                1,
                args.scheduled_sampling_start,
                args.scheduled_sampling_end,
                args.scheduled_sampling_k,
            )
        except ValueError as error:
            raise SystemExit(f"error: --scheduled_sampling: {error}") from None
    if args.curriculum and not (args.curriculum_steps > 0 and 0 < args.curriculum_start <= 1):
        raise SystemExit("error: --curriculum needs --curriculum_steps > 0 and a start in (0, 1]")
    if args.checkpointing_steps not in (None, "epoch") and not args.checkpointing_steps.isdigit():
        raise SystemExit("error: --checkpointing_steps must be an integer or 'epoch'")
    if args.push_to_hub and not args.hub_model_id:
        raise SystemExit("error: --push_to_hub needs --hub_model_id")
    for name in AT_LEAST_ONE_FLAGS:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise SystemExit(f"error: --{name} must be >= 1, got {value}")
    for name in NON_NEGATIVE_FLAGS:
        if getattr(args, name) < 0:
            raise SystemExit(f"error: --{name} must be >= 0, got {getattr(args, name)}")
    if not args.learning_rate > 0:
        raise SystemExit(f"error: --learning_rate must be > 0, got {args.learning_rate}")
    if args.checkpointing_steps not in (None, "epoch") and int(args.checkpointing_steps) < 1:
        raise SystemExit("error: --checkpointing_steps must be >= 1 or 'epoch'")
    reserved = len(SPECIAL_TOKENS) + len(BYTE_TOKENS)
    if not args.tokenizer_name and args.vocab_size <= reserved:
        raise SystemExit(
            f"error: --vocab_size must exceed {reserved} (the special and byte tokens), "
            f"got {args.vocab_size}"
        )
    if args.max_train_minutes is not None and not args.max_train_minutes > 0:
        raise SystemExit(f"error: --max_train_minutes must be > 0, got {args.max_train_minutes}")
    if not 0.0 <= args.bpe_dropout < 1.0:
        raise SystemExit(f"error: --bpe_dropout must be in [0, 1), got {args.bpe_dropout}")
    if args.average_checkpoints < 0 or args.average_checkpoints == 1:
        raise SystemExit(
            f"error: --average_checkpoints must be 0 (off) or >= 2, got {args.average_checkpoints}"
        )
    try:
        model_config(args, vocab_size=args.vocab_size)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def _is_builtin_corpus(args) -> bool:
    return not (args.train_file or args.dataset_name)


def special_token_ids(tokenizer) -> dict:
    """The config's special ids from a tokenizer; without <s>, decoding starts from <pad>."""
    missing = [
        name for name in ("pad_token_id", "eos_token_id") if getattr(tokenizer, name) is None
    ]
    if missing:
        raise SystemExit(f"error: the tokenizer has no {' or '.join(missing)}; it needs both")
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.pad_token_id
    return {
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": start,
        "decoder_start_token_id": start,
    }


def model_config(args, vocab_size: int, tokenizer=None) -> Seq2SeqLSTMConfig:
    """The model's configuration from the arguments; a joint vocabulary of `vocab_size`, with
    the tokenizer's special ids when one is given (validated by the config like every field)."""
    return Seq2SeqLSTMConfig(
        **(special_token_ids(tokenizer) if tokenizer is not None else {}),
        src_vocab_size=vocab_size,
        tgt_vocab_size=vocab_size,
        cell_type=args.cell_type,
        attention=args.attention,
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        dropout=args.dropout,
        source_word_dropout=args.source_word_dropout,
        target_word_dropout=args.target_word_dropout,
        bidirectional_encoder=not args.unidirectional_encoder,
        input_feeding=args.input_feeding,
        tie_word_embeddings=args.tie_word_embeddings,
        share_embeddings=args.share_embeddings,
        scheduled_sampling_mode=args.scheduled_sampling_mode,
        label_smoothing=args.label_smoothing,
        init_scheme=args.init_scheme,
        init_range=args.init_range,
    )


# --- data -----------------------------------------------------------------------------------


def load_raw_datasets(args) -> datasets.DatasetDict:
    """`ko`/`en`/`source` splits: the given files or Hub dataset, else a built-in corpus."""
    data_files = None if args.dataset_name else builtin_corpus_files(args.builtin_corpus)
    if args.train_file:
        data_files = {"train": args.train_file}
        if args.validation_file:
            data_files["validation"] = args.validation_file
        if args.test_file:
            data_files["test"] = args.test_file
    return load_parallel_corpus(
        data_files=data_files,
        dataset_name=args.dataset_name,
        dataset_config_name=args.dataset_config_name,
        ko_column=args.source_column,
        en_column=args.target_column,
        validation_split=args.validation_split,
        seed=args.seed,
        num_proc=args.preprocessing_num_workers,
    )


def data_fingerprint(dataset: datasets.Dataset) -> str:
    """sha256 of the Korean and English text of a split, read batch by batch."""
    digest = hashlib.sha256()
    for batch in dataset.select_columns(["ko", "en"]).iter(batch_size=10_000):
        for ko, en in zip(batch["ko"], batch["en"], strict=True):
            digest.update(f"{ko}\t{en}\n".encode())
    return digest.hexdigest()


def get_tokenizer(args, raw: datasets.DatasetDict):
    """The starting model's tokenizer, else --tokenizer_name's, else a joint BPE trained on the
    training split."""
    if args.model_name_or_path or args.tokenizer_name:
        return AutoTokenizer.from_pretrained(args.model_name_or_path or args.tokenizer_name)
    return train_bpe_tokenizer(raw["train"], vocab_size=args.vocab_size)


def tokenize_datasets(args, raw, tokenizer, accelerator) -> datasets.DatasetDict:
    """Token ids per split (cached by `datasets`), over-long pairs dropped and counted."""

    truncation = (
        {"truncation": True, "max_length": args.max_source_length}
        if args.truncate_long_pairs
        else {}
    )

    def encode(batch):
        encoded = tokenizer(batch["ko"], **truncation)
        encoded["labels"] = tokenizer(
            text_target=batch["en"],
            **(truncation and {"truncation": True, "max_length": args.max_target_length}),
        )["input_ids"]
        encoded["length"] = [
            max(len(source), len(target))
            for source, target in zip(encoded["input_ids"], encoded["labels"], strict=True)
        ]
        encoded["example_id"] = batch["example_id"]
        return encoded

    def short_enough(batch):
        return [
            len(source) <= args.max_source_length and len(target) <= args.max_target_length
            for source, target in zip(batch["input_ids"], batch["labels"], strict=True)
        ]

    with accelerator.main_process_first():
        indexed = datasets.DatasetDict(
            {
                split: dataset.add_column("example_id", list(range(len(dataset))))
                for split, dataset in raw.items()
            }
        )
        tokenized = indexed.map(
            encode,
            batched=True,
            remove_columns=list(raw["train"].column_names),
            num_proc=args.preprocessing_num_workers,
            desc="tokenizing",
        )
        train = tokenized["train"]
        kept = train.filter(short_enough, batched=True, num_proc=args.preprocessing_num_workers)
    dropped = len(train) - len(kept)
    if not len(kept):
        raise SystemExit(
            f"error: every training pair is longer than --max_source_length "
            f"{args.max_source_length} or --max_target_length {args.max_target_length} tokens"
        )
    if dropped:
        logger.info(
            "dropped %d training pairs longer than %d source / %d target tokens",
            dropped,
            args.max_source_length,
            args.max_target_length,
        )
    tokenized["train"] = kept
    return tokenized


def get_dataloaders(args, raw, tokenized, tokenizer, model, accelerator):
    """Length-bucketed training batches (with the curriculum), length-sorted eval batches."""
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100)
    train = tokenized["train"]
    lengths = np.asarray(train["length"])
    batches_per_step = args.gradient_accumulation_steps * accelerator.num_processes
    sampler = LengthBucketBatchSampler(
        lengths,
        args.per_device_train_batch_size,
        seed=args.seed,
        curriculum_steps=args.curriculum_steps * batches_per_step if args.curriculum else 0,
        curriculum_start=args.curriculum_start,
    )
    columns = ["input_ids", "attention_mask", "labels"]
    if args.bpe_dropout:  # each batch re-segmented from its text; lengths bucket approximately
        train_loader = torch.utils.data.DataLoader(
            train.select_columns(["example_id"]),
            batch_sampler=sampler,
            collate_fn=bpe_dropout_collator(args, raw["train"], tokenizer, collator),
        )
    else:
        train_loader = torch.utils.data.DataLoader(
            train.select_columns(columns), batch_sampler=sampler, collate_fn=collator
        )
    eval_loaders = {}
    for split in ("validation", "test"):
        if split not in tokenized:
            continue
        dataset = tokenized[split]
        limit = args.eval_max_samples if split == "validation" else args.max_predict_samples
        if limit:
            dataset = dataset.select(range(min(limit, len(dataset))))
        # Sorted by length: beams of similar length waste little padding. example_id restores
        # the original order afterwards.
        dataset = dataset.sort("length").select_columns(["example_id", *columns])
        eval_loaders[split] = torch.utils.data.DataLoader(
            dataset,
            batch_size=args.per_device_eval_batch_size,
            collate_fn=DataCollatorForSeq2Seq(tokenizer, model=None, label_pad_token_id=-100),
        )
    return train_loader, sampler, eval_loaders


def bpe_dropout_collator(args, raw_train, tokenizer, collator):
    """Collate training examples (`example_id`s) by tokenizing their text with BPE-dropout."""
    dropout_tokenizer = with_bpe_dropout(tokenizer, args.bpe_dropout)

    def collate(examples):
        texts = raw_train[[example["example_id"] for example in examples]]
        sources = dropout_tokenizer(
            texts["ko"], truncation=True, max_length=args.max_source_length
        )["input_ids"]
        targets = dropout_tokenizer(
            text_target=texts["en"], truncation=True, max_length=args.max_target_length
        )["input_ids"]
        return collator(
            [
                {"input_ids": source, "attention_mask": [1] * len(source), "labels": target}
                for source, target in zip(sources, targets, strict=True)
            ]
        )

    return collate


# --- evaluation -----------------------------------------------------------------------------


@torch.no_grad()
def translate_split(model, loader, tokenizer, accelerator, num_beams) -> list[str]:
    """Translations of a split in its original order (`example_id`), gathered over processes."""
    model.eval()
    unwrapped = accelerator.unwrap_model(model)
    ids, texts = [], []
    for batch in loader:
        generated = unwrapped.generate(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            num_beams=num_beams,
        )
        generated = accelerator.pad_across_processes(
            generated, dim=1, pad_index=tokenizer.pad_token_id
        )
        generated, example_ids = accelerator.gather_for_metrics((generated, batch["example_id"]))
        texts += tokenizer.batch_decode(generated, skip_special_tokens=True)
        ids += example_ids.tolist()
    model.train()
    order = np.argsort(ids, kind="stable")
    return [texts[i].strip() for i in order]


def score_split(model, loaders, split, raw, tokenizer, accelerator, num_beams):
    """BLEU/chrF (with sacreBLEU signatures), teacher-forced loss and translations of a split."""
    predictions = translate_split(model, loaders[split], tokenizer, accelerator, num_beams)
    references = raw[split]["en"][: len(predictions)]  # the first N when a limit applies
    scores = compute_translation_scores(predictions, references)
    scores["loss"] = split_loss(model, loaders[split], accelerator)
    return scores, predictions


@torch.no_grad()
def split_loss(model, loader, accelerator) -> float:
    """Mean teacher-forced cross-entropy per target token of a split (label smoothing included)."""
    model.eval()
    total, tokens = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    for batch in loader:
        count = (batch["labels"] != -100).sum()
        loss = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
            return_logits=False,
        ).loss
        total += loss.double().cpu() * count.cpu()
        tokens += count.cpu()
    model.train()
    total, tokens = accelerator.reduce(
        torch.stack([total, tokens]).to(accelerator.device), reduction="sum"
    ).tolist()
    return total / max(tokens, 1.0)


def is_better(metric: str, score: float, best: float | None) -> bool:
    """Whether a validation `score` of `metric` beats `best` (None: nothing yet)."""
    if best is None:
        return True
    return score < best if metric == "loss" else score > best


# --- checkpoints ----------------------------------------------------------------------------


@dataclasses.dataclass
class TrainingState:
    """What resuming needs beyond accelerate's model/optimizer/scheduler/RNG state."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch
    batches_in_epoch: int = 0  # sampler batches of the current epoch already consumed
    best_score: float | None = None  # of --metric_for_best_model; None before an evaluation
    best_scores: dict = dataclasses.field(default_factory=dict)  # validation scores at best
    evaluations_without_improvement: int = 0
    history: list = dataclasses.field(default_factory=list)
    train_seconds: float = 0.0  # wall time of the training loop so far, across resumes
    snapshots: list = dataclasses.field(default_factory=list)  # {"step", "score"} for averaging
    data_fingerprint: str | None = None  # `datasets` fingerprint of the training split


@dataclasses.dataclass
class Run:
    """What the training loop and evaluation share, prepared by `training_function`."""

    args: argparse.Namespace
    accelerator: Accelerator
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    train_loader: torch.utils.data.DataLoader
    sampler: LengthBucketBatchSampler
    eval_loaders: dict
    raw: datasets.DatasetDict
    tokenizer: object
    state: TrainingState
    total_steps: int
    epochs: int
    output_dir: Path


def checkpoint_dirs(output_dir: Path) -> list[Path]:
    """Checkpoints with a state file, oldest first (partial ones are never named checkpoint-*)."""
    found = [
        path
        for path in output_dir.glob(f"{CHECKPOINT_PREFIX}*")
        if path.name[len(CHECKPOINT_PREFIX) :].isdigit() and (path / STATE_FILE).is_file()
    ]
    return sorted(found, key=lambda path: int(path.name[len(CHECKPOINT_PREFIX) :]))


def file_digests(folder: Path) -> dict:
    """{relative path: [size, sha256]} of every file under `folder` but the state file."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != STATE_FILE:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            digests[str(path.relative_to(folder))] = [path.stat().st_size, digest]
    return digests


def damaged_checkpoint_file(checkpoint: Path) -> str | None:
    """The first file of `checkpoint` that is missing or differs from its manifest, else None."""
    try:
        manifest = json.loads((checkpoint / STATE_FILE).read_text())["files"]
    except (OSError, ValueError, KeyError):
        return str(checkpoint / STATE_FILE)
    for name, (size, digest) in manifest.items():
        path = checkpoint / name
        if not path.is_file() or path.stat().st_size != size:
            return str(path)
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return str(path)
    return None


def save_checkpoint(run: "Run") -> None:
    """Write `checkpoint-<step>` atomically (a temporary folder, then one rename): accelerate's
    state, the tokenizer, and a state file whose manifest lets a resume verify every file."""
    accelerator, state, output_dir = run.accelerator, run.state, run.output_dir
    final = output_dir / f"{CHECKPOINT_PREFIX}{state.step}"
    partial = output_dir / f".partial-{CHECKPOINT_PREFIX}{state.step}"
    if accelerator.is_main_process and partial.exists():
        shutil.rmtree(partial)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        run.tokenizer.save_pretrained(partial / CHECKPOINT_TOKENIZER_DIR)
        record = {**dataclasses.asdict(state), "files": file_digests(partial)}
        (partial / STATE_FILE).write_text(json.dumps(record))
        if final.exists():
            shutil.rmtree(final)
        os.replace(partial, final)
        if run.args.checkpoints_total_limit:
            for old in checkpoint_dirs(output_dir)[: -run.args.checkpoints_total_limit]:
                shutil.rmtree(old)
    accelerator.wait_for_everyone()


def load_training_state(checkpoint: Path) -> TrainingState:
    record = json.loads((checkpoint / STATE_FILE).read_text())
    record.pop("files", None)
    return TrainingState(**record)


def resolve_checkpoint(args) -> Path | None:
    """The checkpoint to resume from, verified against its manifest.

    `latest` falls back to the newest intact checkpoint and says which ones it skipped; a named
    checkpoint that is damaged is refused with the damaged file's path.
    """
    if not args.resume_from_checkpoint:
        return None
    if args.resume_from_checkpoint == "latest":
        found = checkpoint_dirs(Path(args.output_dir))
        for checkpoint in reversed(found):
            damaged = damaged_checkpoint_file(checkpoint)
            if damaged is None:
                return checkpoint
            logger.warning("skipping %s: %s is damaged or missing", checkpoint, damaged)
        logger.info("no intact checkpoint in %s: starting from scratch", args.output_dir)
        return None
    path = Path(args.resume_from_checkpoint)
    if not (path / STATE_FILE).is_file():
        raise SystemExit(f"error: {path} is not a complete checkpoint (no {STATE_FILE})")
    damaged = damaged_checkpoint_file(path)
    if damaged is not None:
        raise SystemExit(
            f"error: checkpoint {path} is damaged: {damaged} is missing, truncated or altered"
        )
    return path


def check_output_dir(args) -> None:
    """Refuse to mix a new run with a finished or started one in --output_dir, unless resuming
    from it or --overwrite_output_dir (which removes the old run's files, and only those)."""
    output_dir = Path(args.output_dir)
    if not output_dir.is_dir():
        return
    old_run = sorted(
        path.name for pattern in RUN_OUTPUT_PATTERNS for path in output_dir.glob(pattern)
    )
    if not old_run:
        return
    resuming_here = args.resume_from_checkpoint == "latest" or (
        args.resume_from_checkpoint
        and Path(args.resume_from_checkpoint).resolve().parent == output_dir.resolve()
    )
    if resuming_here and checkpoint_dirs(output_dir):
        return
    if not args.overwrite_output_dir:
        raise SystemExit(
            f"error: --output_dir {output_dir} already holds a training run "
            f"({', '.join(old_run[:3])}{', ...' if len(old_run) > 3 else ''}); pass "
            "--overwrite_output_dir to replace it, --resume_from_checkpoint latest to continue "
            "it, or another --output_dir"
        )
    for name in old_run:
        path = output_dir / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    logger.info("--overwrite_output_dir: removed the previous run's %d files", len(old_run))


# --- outputs --------------------------------------------------------------------------------


def save_model(accelerator, model, tokenizer, output_dir: Path) -> None:
    """The selected model and tokenizer, written beside each other then moved in file by file."""
    if not accelerator.is_main_process:
        return
    staging = output_dir / ".partial-model"
    if staging.exists():
        shutil.rmtree(staging)
    accelerator.unwrap_model(model).save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    for path in staging.iterdir():
        os.replace(path, output_dir / path.name)
    staging.rmdir()


def run_info(args, raw, model_dir: Path) -> RunInfo:
    """What reproduces the run: versions, the git commit, the tokenizer's hash, the data."""
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=Path(hf_seq2seq_lstm.__file__).parent,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    builtin = _is_builtin_corpus(args)
    sources = args.train_file or (
        [args.dataset_name] if args.dataset_name else [f"builtin:{args.builtin_corpus}"]
    )
    license_ = args.dataset_license or (
        builtin_corpus_license(args.builtin_corpus) if builtin else None
    )
    return RunInfo(
        package_version=hf_seq2seq_lstm.__version__,
        torch_version=torch.__version__,
        transformers_version=transformers.__version__,
        python_version=sys.version.split()[0],
        git_commit=commit,
        tokenizer_sha256=hashlib.sha256((model_dir / "tokenizer.json").read_bytes()).hexdigest(),
        command=" ".join(_without_secret(sys.argv)),
        data=DataInfo(
            sources=[str(source) for source in sources],
            license=license_.lower() if license_ else None,
            aihub=any(looks_like_aihub(str(source)) for source in sources),
            train_pairs=len(raw["train"]),
        ),
    )


def recorded_args(args) -> dict:
    """The arguments as written to training_args.json: everything but the Hub token."""
    return {key: value for key, value in vars(args).items() if key != "hub_token"}


def _without_secret(argv: list[str]) -> list[str]:
    return [
        "***" if index and argv[index - 1] == "--hub_token" else value
        for index, value in enumerate(argv)
    ]


def weights_digest(model) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def plot_sample_attention(model, tokenizer, sentence: str, path: Path) -> Path | None:
    """Attention heatmap of the model's translation of `sentence` (None without attention)."""
    alignment = translate_with_attention(model, tokenizer, sentence)
    return plot_alignment(alignment, path, title=sentence)


# --- training -------------------------------------------------------------------------------


def current_teacher_forcing_ratio(args, state: TrainingState, total_steps, epochs) -> float:
    if args.scheduled_sampling == "none":
        return args.teacher_forcing_ratio
    by_epoch = args.scheduled_sampling_unit == "epoch"
    return teacher_forcing_ratio(
        args.scheduled_sampling,
        state.epoch if by_epoch else state.step,
        # The first step/epoch trains at `start`, the last at `end`.
        max(1, (epochs if by_epoch else total_steps) - 1),
        args.scheduled_sampling_start,
        args.scheduled_sampling_end,
        args.scheduled_sampling_k,
    )


def warn_if_processes_were_not_started(accelerator: Accelerator) -> None:
    """Warn when `accelerate launch` was asked for several processes but this one runs alone.

    Its simple launcher (e.g. `--cpu --num_processes 2` without `--multi_gpu`) starts the script
    once: it sets MASTER_PORT for the processes it was asked for, but no WORLD_SIZE to join them.
    """
    launched_alone = "ACCELERATE_MIXED_PRECISION" in os.environ and "WORLD_SIZE" not in os.environ
    if accelerator.num_processes == 1 and launched_alone and "MASTER_PORT" in os.environ:
        logger.warning(
            "accelerate launch was asked for several processes but started only this one; for "
            "DDP on CPU use `ACCELERATE_USE_CPU=true accelerate launch --multi_gpu "
            "--num_processes N ...` (see README)"
        )


def training_function(args) -> dict:
    """Train, select on validation BLEU, save, optionally score the test set. Returns results."""
    bound_onednn_cache()
    accelerator = Accelerator(
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=args.mixed_precision,
        log_with=args.report_to if args.with_tracking else None,
        project_dir=args.output_dir,
    )
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        level=logging.INFO if accelerator.is_main_process else logging.WARNING,
    )
    warn_if_processes_were_not_started(accelerator)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    set_seed(args.seed)
    output_dir = Path(args.output_dir)
    if accelerator.is_main_process:
        check_output_dir(args)
        output_dir.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    checkpoint = resolve_checkpoint(args)

    datasets.disable_progress_bars()
    raw = load_raw_datasets(args)
    if len(raw["train"]) >= LARGE_CORPUS_PAIRS:
        datasets.enable_progress_bars()  # tokenizing a large corpus takes minutes: show it
    logger.info("data: %s", {split: len(dataset) for split, dataset in raw.items()})
    if checkpoint is not None and (checkpoint / CHECKPOINT_TOKENIZER_DIR).is_dir():
        # The restored embeddings belong to these ids: never retrain BPE on a resume.
        tokenizer = AutoTokenizer.from_pretrained(checkpoint / CHECKPOINT_TOKENIZER_DIR)
    else:
        tokenizer = get_tokenizer(args, raw)
    tokenized = tokenize_datasets(args, raw, tokenizer, accelerator)

    if args.model_name_or_path:  # its weights, with this run's regularisation
        model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(
            args.model_name_or_path,
            **{field: getattr(args, field) for field in REGULARISATION_FIELDS},
        )
        config = model.config
    else:
        config = model_config(args, vocab_size=len(tokenizer), tokenizer=tokenizer)
        model = Seq2SeqLSTMForConditionalGeneration(config)
    # The decoding the model ships with: what generate(), the pipeline and the CLI use.
    model.generation_config.num_beams = args.num_beams
    # transformers refuses to save a length penalty that greedy decoding would ignore
    model.generation_config.length_penalty = args.length_penalty if args.num_beams > 1 else 1.0
    model.generation_config.no_repeat_ngram_size = args.no_repeat_ngram_size
    train_loader, sampler, eval_loaders = get_dataloaders(
        args, raw, tokenized, tokenizer, model, accelerator
    )
    logger.info(
        "model: %s parameters, %s",
        f"{model.num_parameters():,}",
        {key: getattr(config, key) for key in ("cell_type", "attention", "hidden_dim")},
    )

    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=args.learning_rate,
        weight_decay=args.weight_decay,
        fused=True,  # one kernel for all parameters: 4x faster steps than the default on CPU
    )
    steps_per_epoch = math.ceil(
        len(sampler) / (args.gradient_accumulation_steps * accelerator.num_processes)
    )
    total_steps = args.max_train_steps or args.num_train_epochs * steps_per_epoch
    epochs = math.ceil(total_steps / steps_per_epoch)
    # A prepared scheduler steps once per process per optimizer step (accelerate), so the
    # schedule is laid out in process-steps.
    scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=args.num_warmup_steps * accelerator.num_processes,
        num_training_steps=total_steps * accelerator.num_processes,
    )
    model, optimizer, train_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, scheduler
    )
    eval_loaders = {split: accelerator.prepare(loader) for split, loader in eval_loaders.items()}
    if args.with_tracking:
        accelerator.init_trackers(
            "hf_seq2seq_lstm",
            {
                k: v
                for k, v in recorded_args(args).items()
                if isinstance(v, (int, float, str, bool))
            },
        )

    state = TrainingState(data_fingerprint=data_fingerprint(raw["train"]))
    if checkpoint is not None:
        try:
            accelerator.load_state(str(checkpoint))
        except Exception as error:  # a library error that would not name the checkpoint
            raise SystemExit(f"error: cannot load checkpoint {checkpoint}: {error}") from None
        state = load_training_state(checkpoint)
        logger.info("resumed from %s at step %d", checkpoint, state.step)
        if state.data_fingerprint != data_fingerprint(raw["train"]):
            logger.warning(
                "the training data differ from the data %s was trained on; its tokenizer is "
                "kept, so every token id keeps its meaning",
                checkpoint,
            )

    if accelerator.is_main_process:
        (output_dir / "training_args.json").write_text(json.dumps(recorded_args(args), indent=2))

    run = Run(
        args=args,
        accelerator=accelerator,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        train_loader=train_loader,
        sampler=sampler,
        eval_loaders=eval_loaders,
        raw=raw,
        tokenizer=tokenizer,
        state=state,
        total_steps=total_steps,
        epochs=epochs,
        output_dir=output_dir,
    )
    with logging_redirect_tqdm():  # log lines above the training bar, not glued onto it
        results = train_loop(run)
    if args.average_checkpoints:
        results["averaging"] = average_and_select(run)
        results.update(state.best_scores)  # the average's scores when it was kept

    # The selected model: the best validation score, or the last weights when never evaluated.
    if state.best_score is None:
        save_model(accelerator, model, tokenizer, output_dir)
    accelerator.wait_for_everyone()
    # Not prepared: the test set is decoded as users decode it (pipeline, CLI), in float32
    # rather than under the training run's autocast, so their BLEU equals the reported one.
    best = Seq2SeqLSTMForConditionalGeneration.from_pretrained(output_dir).to(accelerator.device)
    if args.do_predict and "test" in eval_loaders:
        scores, predictions = score_split(
            best, eval_loaders, "test", raw, tokenizer, accelerator, args.num_beams
        )
        results.update({f"test_{key}": value for key, value in scores.items()})
        if "source" in raw["test"].column_names:  # where the model works and where it does not
            results["test_by_source"] = translation_scores_by_group(
                predictions,
                raw["test"]["en"][: len(predictions)],
                raw["test"]["source"][: len(predictions)],
            )
            for source, row in results["test_by_source"].items():
                logger.info(
                    "test %-14s %4d pairs  BLEU %5.2f  chrF %5.2f",
                    source,
                    row["pairs"],
                    row["bleu"],
                    row["chrf"],
                )
        if accelerator.is_main_process:
            (output_dir / "test_predictions.txt").write_text(
                "".join(" ".join(line.splitlines()) + "\n" for line in predictions)
            )
            logger.info(
                "test BLEU %.2f chrF %.2f (%s)",
                scores["bleu"],
                scores["chrf"],
                scores["bleu_signature"],
            )

    if accelerator.is_main_process:
        samples = raw["validation"] if "validation" in raw else raw["train"]
        plot_sample_attention(best, tokenizer, samples["ko"][0], output_dir / "attention.png")
        history = LogHistory.from_json(state.history)
        plot_training_curves(
            history.entries,
            output_dir / "training_curves.png",
            selected_step=state.best_scores.get("best_step"),
        )
        # The curves' data, so a figure can be redrawn or compared across runs without rerunning.
        history.write(output_dir)
        run_info(args, raw, output_dir).write(output_dir)
        Results.from_json(results).write(output_dir)
        print_samples(best, tokenizer, samples, args.num_beams)
        summary = {k: v for k, v in results.items() if isinstance(v, (int, float))}
        print(json.dumps(summary, indent=2))  # once, by the main process
    if accelerator.num_processes > 1:  # DDP keeps replicas equal; show it
        digest = weights_digest(accelerator.unwrap_model(model))
        print(
            f"rank {accelerator.process_index}: processes {accelerator.num_processes}, "
            f"weights sha256 {digest}",
            flush=True,
        )
    if args.with_tracking:
        accelerator.end_training()
    if args.push_to_hub and accelerator.is_main_process:
        from hf_seq2seq_lstm.hub import push_model_dir

        push_model_dir(output_dir, args.hub_model_id, token=args.hub_token)
    return results


def train_loop(run: Run) -> dict:
    """Optimizer steps until `total_steps`, evaluating and checkpointing on the way."""
    args, accelerator, model, state = run.args, run.accelerator, run.model, run.state
    optimizer, scheduler, sampler, train_loader = (
        run.optimizer,
        run.scheduler,
        run.sampler,
        run.train_loader,
    )
    total_steps, epochs = run.total_steps, run.epochs
    progress = tqdm(
        total=total_steps,
        initial=state.step,
        disable=not accelerator.is_local_main_process,
        desc="training",
    )
    eval_every = args.eval_steps
    checkpoint_every = (
        int(args.checkpointing_steps) if (args.checkpointing_steps or "").isdigit() else None
    )
    started, tokens_seen, running_loss, losses_in_window = time.time(), 0, 0.0, 0
    segment_start, seconds_before = training_clock(), state.train_seconds
    budget_s = args.max_train_minutes * 60 if args.max_train_minutes else None
    model.train()
    stop = False
    micro_in_step = 0  # checkpoints fall on optimizer steps, so a resume starts at 0
    while state.step < total_steps and not stop:
        sampler.set_epoch(state.epoch)
        train_loader.set_epoch(state.epoch)
        loader = (
            accelerator.skip_first_batches(train_loader, state.batches_in_epoch)
            if state.batches_in_epoch
            else train_loader
        )
        ratio = current_teacher_forcing_ratio(args, state, total_steps, epochs)
        for batch in loader:
            # Randomness as a pure function of (seed, micro-batch, rank): resuming is exact, and
            # the micro-batches of one accumulated step draw different dropout masks.
            micro_batch = state.step * args.gradient_accumulation_steps + micro_in_step
            set_seed(
                args.seed + micro_batch * accelerator.num_processes + accelerator.process_index
            )
            micro_in_step += 1
            with accelerator.accumulate(model):
                loss = model(**batch, teacher_forcing_ratio=ratio, return_logits=False).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients and args.max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            state.batches_in_epoch += 1
            tokens_seen += int((batch["labels"] != -100).sum())
            running_loss += loss.item()
            losses_in_window += 1
            if not accelerator.sync_gradients:
                continue
            micro_in_step = 0
            state.step += 1
            progress.update(1)
            if state.step % args.logging_steps == 0 or state.step == total_steps:
                entry = {
                    "step": state.step,
                    "epoch": state.epoch,
                    "loss": running_loss / losses_in_window,
                    "teacher_forcing_ratio": ratio,
                    "learning_rate": scheduler.get_last_lr()[0],
                }
                state.history.append(entry)
                elapsed = time.time() - started
                progress.set_postfix(
                    loss=f"{entry['loss']:.3f}",
                    tf=f"{ratio:.2f}",
                    tok_s=f"{tokens_seen / max(elapsed, 1e-9):.0f}",
                )
                if args.with_tracking:
                    accelerator.log(entry, step=state.step)
                running_loss, losses_in_window = 0.0, 0
            if state.step % TRIM_EVERY_STEPS == 0:
                release_free_memory()
            state.train_seconds = seconds_before + training_clock() - segment_start
            out_of_time = budget_s is not None and state.train_seconds >= budget_s
            if args.scheduled_sampling_unit == "step":
                ratio = current_teacher_forcing_ratio(args, state, total_steps, epochs)
            if eval_every and state.step % eval_every == 0:
                stop = evaluate_and_select(run)
            if out_of_time:
                logger.info(
                    "--max_train_minutes %g reached at step %d of %d: finishing the run (resume "
                    "with a larger budget to continue)",
                    args.max_train_minutes,
                    state.step,
                    total_steps,
                )
                stop = True
            if (checkpoint_every and state.step % checkpoint_every == 0) or out_of_time:
                save_checkpoint(run)
            if state.step >= total_steps or stop:
                break
        else:  # the epoch ran out
            state.epoch += 1
            state.batches_in_epoch = 0
            if not eval_every:
                stop = evaluate_and_select(run)
            if args.checkpointing_steps == "epoch":
                save_checkpoint(run)
    progress.close()
    evaluated_steps = [entry["step"] for entry in state.history if "eval_bleu" in entry]
    if not evaluated_steps or evaluated_steps[-1] != state.step:  # score the last steps too
        evaluate_and_select(run)
    elapsed = time.time() - started
    last_loss = next((e["loss"] for e in reversed(state.history) if "loss" in e), None)
    return {
        "train_loss": last_loss,
        "train_steps": state.step,
        "epochs": state.epoch
        + state.batches_in_epoch / max(1, math.ceil(len(sampler) / accelerator.num_processes)),
        "train_runtime_s": elapsed,
        "train_target_tokens_per_s": tokens_seen / max(elapsed, 1e-9),
        **state.best_scores,
        "num_beams": args.num_beams,
    }


def training_clock() -> float:
    """Seconds on a monotonic clock: what --max_train_minutes is measured with (tests fake it)."""
    return time.monotonic()


def evaluate_and_select(run: Run) -> bool:
    """Score the validation set; save the model when the chosen metric improves. True: stop."""
    args, accelerator, model, state = run.args, run.accelerator, run.model, run.state
    eval_loaders, raw, tokenizer = run.eval_loaders, run.raw, run.tokenizer
    if "validation" not in eval_loaders:
        return False
    scores, _ = score_split(
        model,
        eval_loaders,
        "validation",
        raw,
        tokenizer,
        accelerator,
        args.eval_num_beams or args.num_beams,
    )
    entry = {
        "step": state.step,
        "epoch": state.epoch,
        "eval_bleu": scores["bleu"],
        "eval_chrf": scores["chrf"],
        "eval_loss": scores["loss"],
        "eval_bleu_signature": scores["bleu_signature"],
        "eval_chrf_signature": scores["chrf_signature"],
    }
    state.history.append(entry)
    logger.info(
        "step %d: validation BLEU %.2f chrF %.2f loss %.3f",
        state.step,
        scores["bleu"],
        scores["chrf"],
        scores["loss"],
    )
    if args.with_tracking:
        accelerator.log(
            {key: entry[key] for key in ("eval_bleu", "eval_chrf", "eval_loss")}, step=state.step
        )
    release_free_memory()  # beam search's buffers
    score = scores[args.metric_for_best_model]
    if args.average_checkpoints:
        keep_snapshot(run, score)
    if is_better(args.metric_for_best_model, score, state.best_score):
        state.best_score = score
        state.best_scores = {
            ("best_step" if key == "step" else key): value
            for key, value in entry.items()
            if key != "epoch"
        }
        state.evaluations_without_improvement = 0
        save_model(accelerator, model, tokenizer, run.output_dir)
        return False
    state.evaluations_without_improvement += 1
    patience = args.early_stopping_patience
    if patience and state.evaluations_without_improvement >= patience:
        logger.info(
            "early stopping: %d evaluations without a better %s",
            patience,
            args.metric_for_best_model,
        )
        return True
    return False


def snapshot_file(run: Run, step: int) -> Path:
    return run.output_dir / SNAPSHOT_DIR / f"step-{step}.safetensors"


def keep_snapshot(run: Run, score: float) -> None:
    """Keep this evaluated step's weights for --average_checkpoints; drop those it displaces."""
    args, state, accelerator = run.args, run.state, run.accelerator
    state.snapshots.append({"step": state.step, "score": score})
    if args.average_checkpoints_by == "last":
        kept = state.snapshots[-args.average_checkpoints :]
    else:
        ranked = sorted(
            state.snapshots,
            key=lambda entry: entry["score"],
            reverse=args.metric_for_best_model != "loss",
        )
        kept = sorted(ranked[: args.average_checkpoints], key=lambda entry: entry["step"])
    if accelerator.is_main_process:
        path = snapshot_file(run, state.step)
        path.parent.mkdir(exist_ok=True)
        if state.snapshots[-1] in kept:
            partial = path.with_name(f".partial-{path.name}")
            save_model_weights(accelerator.unwrap_model(run.model), str(partial))
            os.replace(partial, path)
        for entry in state.snapshots:
            if entry not in kept:
                snapshot_file(run, entry["step"]).unlink(missing_ok=True)
    state.snapshots = kept
    accelerator.wait_for_everyone()


def average_and_select(run: Run) -> dict:
    """Average the kept snapshots' weights; keep the average as the model if it scores at least
    as well on validation as the best single step. Returns what was averaged and its scores."""
    args, state, accelerator = run.args, run.state, run.accelerator
    files = [snapshot_file(run, entry["step"]) for entry in state.snapshots]
    files = [path for path in files if path.is_file()]
    if len(files) < 2:
        logger.info("checkpoint averaging skipped: %d evaluated step(s) kept", len(files))
        return {"steps": [], "kept": False}
    averaged = run.output_dir / SNAPSHOT_DIR / "averaged.safetensors"
    if accelerator.is_main_process:
        average_weight_files(files, averaged)
    accelerator.wait_for_everyone()
    load_model_weights(accelerator.unwrap_model(run.model), str(averaged))
    scores, _ = score_split(
        run.model,
        run.eval_loaders,
        "validation",
        run.raw,
        run.tokenizer,
        accelerator,
        args.eval_num_beams or args.num_beams,
    )
    metric = args.metric_for_best_model
    kept = not is_better(metric, state.best_score, scores[metric])
    steps = [int(path.stem.split("-")[1]) for path in files]
    logger.info(
        "average of steps %s: validation %s %.3f vs the best step's %.3f: %s",
        steps,
        metric,
        scores[metric],
        state.best_score,
        "kept" if kept else "not kept",
    )
    if kept:
        state.best_score = scores[metric]
        state.best_scores = {
            "best_step": state.step,
            "averaged_steps": steps,
            **{f"eval_{key}": value for key, value in scores.items()},
        }
        save_model(accelerator, run.model, run.tokenizer, run.output_dir)
    return {"steps": steps, "kept": kept, **{f"eval_{key}": value for key, value in scores.items()}}


def print_samples(model, tokenizer, validation, num_beams) -> None:
    """A few validation translations, so the user sees what the numbers mean."""
    count = min(SAMPLE_TRANSLATIONS, len(validation))
    sources, references = validation["ko"][:count], validation["en"][:count]
    inputs = tokenizer(sources, return_tensors="pt", padding=True)
    outputs = model.eval().generate(**inputs, num_beams=num_beams)
    for source, reference, output in zip(
        sources, references, tokenizer.batch_decode(outputs, skip_special_tokens=True), strict=True
    ):
        print(f"ko:  {source}\nref: {reference}\nout: {output.strip()}\n")


def main(argv=None) -> dict:
    args = parse_args(argv)
    return training_function(args)


if __name__ == "__main__":
    main()
