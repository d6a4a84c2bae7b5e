"""train.py's command line: its flags, their checks, and the model config they describe.

The defaults of the model and of the optimisation are train.py's (measured on its corpus), passed
to `parse_args`; every other default is here. Every check runs before any work, and a bad flag
stops the run with one line that names it.
"""

import argparse
import sys
import warnings
from pathlib import Path

import transformers

from .configuration_seq2seq_lstm import (
    ATTENTION_TYPES,
    CELL_TYPES,
    INIT_SCHEMES,
    SCHEDULED_SAMPLING_MODES,
    Seq2SeqLSTMConfig,
)
from .data import BUILTIN_CORPORA, DEFAULT_BUILTIN_CORPUS
from .schedules import SCHEDULES, teacher_forcing_ratio
from .tokenization import BYTE_TOKENS, SPECIAL_TOKENS

METRICS_FOR_BEST_MODEL = ("chrf", "bleu", "loss")
# Numeric flags and their valid ranges, checked before any work (None means unset).
AT_LEAST_ONE_FLAGS = (
    "num_train_epochs", "max_train_steps", "per_device_train_batch_size",
    "per_device_eval_batch_size", "gradient_accumulation_steps", "num_beams", "eval_steps",
    "eval_num_beams", "eval_max_samples", "max_predict_samples", "early_stopping_patience",
    "checkpoints_total_limit", "logging_steps", "preprocessing_num_workers", "num_threads",
    "max_source_length", "max_target_length", "max_tokens_per_batch",
)  # fmt: skip
NON_NEGATIVE_FLAGS = (
    "weight_decay",
    "num_warmup_steps",
    "max_grad_norm",
    "seed",
    "no_repeat_ngram_size",
)
# Old names of the teacher-forcing flags (the start ratio had two flags), accepted for one
# release with a warning.
RENAMED_FLAGS = {
    "--scheduled_sampling": "--teacher_forcing_schedule",
    "--scheduled_sampling_start": "--teacher_forcing_ratio",
    "--scheduled_sampling_end": "--teacher_forcing_end",
}
# The schedule function's arguments as flags, so that its errors name what the user typed.
SCHEDULE_ARGUMENT_FLAGS = {
    "start": "--teacher_forcing_ratio",
    "end": "--teacher_forcing_end",
    "k": "--scheduled_sampling_k",
}


def parse_args(
    argv=None, *, description: str, model_defaults: dict, training_defaults: dict
) -> argparse.Namespace:
    """Parse and check train.py's command line (`argv`; None: `sys.argv`).

    Args:
        description: the first line of `--help`.
        model_defaults: `Seq2SeqLSTMConfig` fields whose defaults the flags change.
        training_defaults: defaults of `--vocab_size`, `--learning_rate`, `--num_warmup_steps`,
            `--label_smoothing` and `--output_dir`.
    """
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,  # every flag shows its default
    )
    _add_data_flags(parser, training_defaults)
    _add_starting_point_flags(parser)
    _add_model_flags(parser, model_defaults)
    _add_teacher_forcing_flags(parser)
    train = parser.add_argument_group("training")
    _add_optimisation_flags(train, training_defaults)
    _add_evaluation_flags(train)
    _add_output_flags(train)
    argv = _with_new_flag_names(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    base = args.model_name_or_path or args.config_name
    if base:  # first: the architecture flags then describe the starting model
        given = {
            token.split("=")[0][2:].removeprefix("no-") for token in argv if token.startswith("--")
        }
        adopt_architecture(args, load_base_config(base), given)
    validate_args(args)
    return args


def _add_data_flags(parser: argparse.ArgumentParser, training_defaults: dict) -> None:
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
        default=training_defaults["vocab_size"],
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


def _add_starting_point_flags(parser: argparse.ArgumentParser) -> None:
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


def _add_model_flags(parser: argparse.ArgumentParser, model_defaults: dict) -> None:
    """One flag per `Seq2SeqLSTMConfig` field: long, but a flat list."""
    model = parser.add_argument_group("model (Seq2SeqLSTMConfig fields)")
    defaults = Seq2SeqLSTMConfig(**model_defaults)
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


def _add_teacher_forcing_flags(parser: argparse.ArgumentParser) -> None:
    teacher = parser.add_argument_group("teacher forcing and curriculum")
    teacher.add_argument(
        "--teacher_forcing_ratio",
        type=float,
        default=1.0,
        help="probability of feeding the gold previous token: at every step, or at the first "
        "one when --teacher_forcing_schedule decays it",
    )
    teacher.add_argument(
        "--teacher_forcing_schedule",
        choices=SCHEDULES,
        default="none",
        help="decay of the teacher-forcing ratio from --teacher_forcing_ratio to "
        "--teacher_forcing_end (scheduled sampling)",
    )
    teacher.add_argument(
        "--teacher_forcing_end",
        type=float,
        default=0.75,
        help="ratio at the last step of --teacher_forcing_schedule",
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


def _with_new_flag_names(argv: list[str]) -> list[str]:
    """`argv` with each old flag name (`RENAMED_FLAGS`) replaced by its new one, and warned
    about (pointing at the caller of `parse_args`)."""
    renamed = []
    for token in argv:
        name, equals, value = token.partition("=")
        if name in RENAMED_FLAGS:
            warnings.warn(
                f"{name} is deprecated and will be removed in the next release: use "
                f"{RENAMED_FLAGS[name]}",
                FutureWarning,
                stacklevel=3,
            )
            token = f"{RENAMED_FLAGS[name]}{equals}{value}"
        renamed.append(token)
    return renamed


def _add_optimisation_flags(train, training_defaults: dict) -> None:
    train.add_argument(
        "--output_dir",
        default=training_defaults["output_dir"],
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
        "--max_tokens_per_batch",
        type=int,
        help="batch by a token budget instead: at most this many padded tokens (sentences x the "
        "longest side) per batch, so short sentences come in large batches; no --curriculum",
    )
    train.add_argument(
        "--per_device_eval_batch_size", type=int, default=64, help="sentences per decoding batch"
    )
    train.add_argument(
        "--learning_rate",
        type=float,
        default=training_defaults["learning_rate"],
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
        default=training_defaults["num_warmup_steps"],
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
        default=training_defaults["label_smoothing"],
        help="label smoothing of the training loss",
    )
    train.add_argument(
        "--mixed_precision",
        choices=("no", "bf16", "fp16"),
        help="autocast precision (unset: the accelerate config's; bf16 needs a CPU or GPU that computes it)",
    )
    train.add_argument("--seed", type=int, default=1234, help="seed of everything random")
    train.add_argument(
        "--num_threads", type=int, help="torch threads per process (CPU training only)"
    )


def _add_evaluation_flags(train) -> None:
    """Validation, selection of the kept model, and the test set's decoding."""
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


def _add_output_flags(train) -> None:
    """Checkpoints, the output folder, tracking and publishing."""
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
    _check_input_flags(args)
    _check_teacher_forcing_flags(args)
    _check_training_flags(args)
    try:
        model_config(args, vocab_size=args.vocab_size)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def _check_input_flags(args: argparse.Namespace) -> None:
    """The data, the starting model and the language pair."""
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
    if args.do_predict and not (args.test_file or uses_builtin_corpus(args) or args.dataset_name):
        raise SystemExit("error: --do_predict needs --test_file")
    if (
        args.tokenizer_name
        and Path(args.tokenizer_name).suffix
        and not Path(args.tokenizer_name).exists()
    ):
        raise SystemExit(f"error: --tokenizer_name {args.tokenizer_name} does not exist")


def _check_teacher_forcing_flags(args: argparse.Namespace) -> None:
    """Teacher forcing and curriculum. The ratios' range and k are the schedule function's
    checks (one place), its errors worded with the flags' names."""
    if (
        args.teacher_forcing_schedule != "none"
        and args.teacher_forcing_end > args.teacher_forcing_ratio
    ):
        raise SystemExit(
            "error: --teacher_forcing_end must not exceed --teacher_forcing_ratio, the start of "
            f"the schedule ({args.teacher_forcing_end} > {args.teacher_forcing_ratio})"
        )
    try:
        teacher_forcing_ratio(
            args.teacher_forcing_schedule,
            0,
            1,
            args.teacher_forcing_ratio,
            args.teacher_forcing_end,
            args.scheduled_sampling_k,
        )
    except ValueError as error:  # "argument: problem"
        argument, _, problem = str(error).partition(":")
        raise SystemExit(f"error: {SCHEDULE_ARGUMENT_FLAGS[argument]}:{problem}") from None
    if args.curriculum and not (args.curriculum_steps > 0 and 0 < args.curriculum_start <= 1):
        raise SystemExit("error: --curriculum needs --curriculum_steps > 0 and a start in (0, 1]")
    if args.curriculum and args.max_tokens_per_batch:
        # Token batches are cut once for the whole run; a curriculum changes what each epoch holds.
        raise SystemExit("error: --max_tokens_per_batch does not combine with --curriculum")


def _check_training_flags(args: argparse.Namespace) -> None:
    """Optimisation, evaluation, checkpoints and publishing."""
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


def uses_builtin_corpus(args) -> bool:
    """Whether the run trains on a corpus shipped with the package (no files, no dataset)."""
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
