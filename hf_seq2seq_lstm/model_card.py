"""The model card (a Hub repository's README.md) of a trained model, built from its run records.

`make_model_card` turns what a train.py output folder says about itself (`RunRecords`: the
config, `training_args.json`, and the `run_records` of `all_results.json` and `run_info.json`)
into a `ModelCard`. It reads no files: `hub.read_run_records` gathers the records. The card
puts the measured scores under the model's name, with `quality`'s plain verdict where they are
low, and names data files by their base name only, never by local path.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from packaging.requirements import Requirement

from .quality import scores_from_results
from .run_records import Results, RunInfo, SplitScores, looks_like_aihub

PACKAGE_NAME = __package__
# Used only where the package's own metadata cannot be read (e.g. the source tree on sys.path).
FALLBACK_MIN_TRANSFORMERS_VERSION = "5.24"
PLACEHOLDER_REPO_ID = "your-username/ko-en-lstm"
# The figures train.py draws, with the card's caption for each.
FIGURES = {"training_curves.png": "Training curves", "attention.png": "Attention weights"}
_CELL_WITH_ARTICLE = {"lstm": "an LSTM", "gru": "a GRU"}
_METRIC_NAMES = {"bleu": "BLEU", "chrf": "chrF", "loss": "loss"}
# The card's credit for the built-in koen corpus (hf_seq2seq_lstm/koen_data/README.md has more).
BUILTIN_KOEN_DESCRIPTION = (
    f"the {PACKAGE_NAME} built-in `koen` corpus (14,468 training pairs; CC BY-SA 4.0 as a whole): "
    "Tatoeba (tatoeba.org, CC BY 2.0 FR; per-sentence credits in the package's "
    "`koen_data/tatoeba_attribution.tsv`), the Korean Parallel Corpora news and JHE pairs (Park, "
    "Hong & Cha 2016) and their North Korean rewrite (Kim, Hirasawa & Komachi 2020), NTREX-128 "
    "(Federmann, Kocmi & Xin 2022), Universal Dependencies PUD, and FLORES-200 (NLLB Team 2022) "
    "in the SIB-200 selection (CC BY-SA 3.0 / 4.0)"
)


@dataclass
class RunRecords:
    """What a trained model folder says about itself.

    config, training_args: the parsed config.json and training_args.json.
    results, run_info: all_results.json and run_info.json.
    parameter_count: stored parameters in model.safetensors (tied weights count once).
    figures: the FIGURES files present in the folder.
    hub_dataset: `--dataset_name` where it names a Hub dataset; None when unset or a local
        folder.
    """

    config: dict
    training_args: dict
    results: Results
    run_info: RunInfo
    parameter_count: int
    figures: tuple[str, ...] = ()
    hub_dataset: str | None = None


def min_transformers_version() -> str:
    """The lowest transformers version the remote code supports: the package's own requirement."""
    try:
        requirements = importlib.metadata.requires(PACKAGE_NAME) or []
    except importlib.metadata.PackageNotFoundError:
        return FALLBACK_MIN_TRANSFORMERS_VERSION
    for line in requirements:
        requirement = Requirement(line)
        if requirement.name == "transformers":
            for specifier in requirement.specifier:
                if specifier.operator == ">=":
                    return specifier.version
    return FALLBACK_MIN_TRANSFORMERS_VERSION


def aihub_warning(records: RunRecords) -> str | None:
    """A warning to show before publishing when the model was trained on AI Hub data, else None.

    AI Hub is detected from run_info's `data.aihub` flag (train.py sets it from the training
    sources), and by the same rule (`run_records.looks_like_aihub`) from every data file the run
    names, validation and test files included.
    """
    suspects = [Path(path).name for path in _data_file_paths(records) if looks_like_aihub(path)]
    if not records.run_info.data.aihub and not suspects:
        return None
    evidence = f" (files: {', '.join(sorted(set(suspects)))})" if suspects else ""
    return (
        f"this model was trained on AI Hub data{evidence}. AI Hub's terms of use restrict "
        "redistribution of its data and may restrict publishing models trained on it: check "
        "the terms of every dataset you used, and consider --private, before publishing."
    )


def make_model_card(
    records: RunRecords, license: str, repo_id: str | None = None, local_dir: str | None = None
) -> ModelCard:
    """The model card (README.md) of a trained model.

    Args:
        records: the folder's run records (see `hub.read_run_records`).
        license: the card's Hub licence identifier (see `hub.resolve_license`).
        repo_id: the repository the card will live in: the model-index name, and what the usage
            snippets load.
        local_dir: where the usage snippets load the model from while there is no `repo_id`
            (a dry run's staged folder); with neither, they name a placeholder repository.
    """
    name = repo_id or PLACEHOLDER_REPO_ID
    config = records.config
    dataset_name = records.hub_dataset
    card_data = ModelCardData(
        language=["ko", "en"],
        license=license,
        library_name="transformers",
        pipeline_tag="translation",
        tags=[
            "translation",
            "seq2seq",
            "rnn",
            config["cell_type"],
            f"{config['attention']}-attention",
            "custom_code",
            PACKAGE_NAME,
        ],
        datasets=[dataset_name] if dataset_name else None,
        metrics=["bleu", "chrf"],
        model_name=name,
        eval_results=_eval_results(records.results, dataset_name) or None,
        # The Hub's hosted inference cannot run remote code; hide the widget rather than
        # show one that fails.
        inference=False,
    )
    sections = [
        _overview_section(records, name),
        _architecture_section(config, records.parameter_count),
        _data_section(records, license),
        _recipe_section(records),
        _evaluation_section(records),
        _usage_section(repo_id or local_dir or PLACEHOLDER_REPO_ID, staged=not repo_id),
        _limitations_section(records),
        _figures_section(records.figures),
    ]
    body = "\n\n".join(section for section in sections if section)
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}\n")


def _data_file_paths(records: RunRecords) -> list[str]:
    """Every local data file the run names: run_info's sources and training_args' *_file args."""
    named = [source for source in records.run_info.data.sources if source != records.hub_dataset]
    for key, value in records.training_args.items():
        if key.endswith("_file") and value:
            named.extend([value] if isinstance(value, str) else value)
    return named


def _describe_source(source: str, hub_dataset_id: str | None) -> str:
    """A source as the card shows it: a Hub link, a built-in corpus, or a base name only."""
    if source == hub_dataset_id:
        return f"[{source}](https://huggingface.co/datasets/{source}) (Hub dataset)"
    if source == "builtin:sample":
        return f"the {PACKAGE_NAME} built-in sample corpus of hand-written everyday sentences"
    if source == "builtin:koen":
        return BUILTIN_KOEN_DESCRIPTION
    return f"`{Path(source).name}` (local data)"


def _source_label(source: str, hub_dataset_id: str | None) -> str:
    """A test pair's `source` as the card shows it: a Hub dataset id whole, else a base name.

    A local dataset folder's pairs carry its path as their source; only its name is shown.
    """
    return source if source == hub_dataset_id else Path(source).name


def _eval_results(results: Results, dataset_name: str | None) -> list[EvalResult]:
    """BLEU and chrF of every scored split, for the card's `model-index`."""
    eval_results = []
    for split, scores in results.scored_splits().items():
        for metric, metric_name in (("bleu", "BLEU"), ("chrf", "chrF")):
            value = getattr(scores, metric)
            if value is None:
                continue
            eval_results.append(
                EvalResult(
                    task_type="translation",
                    task_name="Korean to English translation",
                    dataset_type=dataset_name or "custom",
                    dataset_name=f"{dataset_name or 'training corpus'} ({split} split)",
                    dataset_split=split,
                    metric_type=metric,
                    metric_name=metric_name,
                    metric_value=round(float(value), 2),
                    metric_config=getattr(scores, f"{metric}_signature"),
                )
            )
    return eval_results


def _table(rows: list[tuple[str, object]], header: tuple[str, str]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def _yes_no(value) -> str:
    return "yes" if value else "no"


def _overview_section(records: RunRecords, repo_id: str) -> str:
    config = records.config
    attention = "no" if config["attention"] == "none" else config["attention"].capitalize()
    version = records.run_info.package_version or ""
    return (
        f"# {repo_id.split('/')[-1]}\n\n"
        f"{_scores_paragraph(records)}\n\n"
        f"Korean→English translation with {_CELL_WITH_ARTICLE[config['cell_type']]} "
        f"encoder-decoder with {attention} attention, trained with `{PACKAGE_NAME}` {version}.\n\n"
        "The model's code ships in this repository (`configuration_seq2seq_lstm.py`, "
        "`modeling_seq2seq_lstm.py`, `pipeline_seq2seq_lstm.py`), so it loads with plain "
        f"`transformers>={min_transformers_version()}` and `torch` and "
        "`trust_remote_code=True`; the package itself is not needed. The Hub's hosted inference "
        "widget cannot run remote code and is switched off (`inference: false`): run the model "
        "locally as shown under Usage."
    )


def _scores_paragraph(records: RunRecords) -> str:
    """The measured scores, first thing under the name, and plainly what low ones mean."""
    scores = scores_from_results(records.results)
    if scores is None:
        return "**Measured scores:** none; the run scored no held-out split."
    decoding = _split_decoding(scores.split, records.results, records.training_args)
    text = f"**Measured scores:** {scores} (sacreBLEU, {decoding}; see Evaluation)."
    verdict = scores.verdict()
    return f"{text}\n\n> {verdict}" if verdict else text


def _architecture_section(config: dict, parameter_count: int) -> str:
    layers = config["num_layers"]
    attention = {
        "none": "none (the decoder sees only the encoder's final state)",
        "bahdanau": "Bahdanau (additive)",
        "luong": "Luong (general)",
    }.get(config["attention"], config["attention"])
    rows = [
        ("Cell", config["cell_type"].upper()),
        ("Attention", attention),
        ("Layers", f"{layers} encoder + {layers} decoder"),
        ("Bidirectional encoder", _yes_no(config.get("bidirectional_encoder"))),
        ("Input feeding", _yes_no(config.get("input_feeding"))),
        ("Embedding size", config["embedding_dim"]),
        ("Hidden size", config["hidden_dim"]),
        (
            "Vocabulary (source / target)",
            f"{config['src_vocab_size']} / {config['tgt_vocab_size']}",
        ),
        ("Shared source/target embeddings", _yes_no(config.get("share_embeddings"))),
        ("Output layer tied to embeddings", _yes_no(config.get("tie_word_embeddings"))),
        ("Dropout", config.get("dropout")),
        ("Parameters", f"{parameter_count:,}"),
    ]
    return "## Architecture\n\n" + _table(rows, ("", ""))


def _data_section(records: RunRecords, license: str) -> str:
    data = records.run_info.data
    dataset_name = records.hub_dataset
    sources = data.sources or ([dataset_name] if dataset_name else [])
    lines = ["## Training data", ""]
    lines += [f"- {_describe_source(source, dataset_name)}" for source in sources]
    if data.train_pairs is not None:
        lines.append(f"- {data.train_pairs:,} training sentence pairs after cleaning")
    lines.append(
        f"- Data licence: {data.license}" if data.license else "- Data licence: not recorded"
    )
    lines += [
        "",
        f"Tokenizer: a joint Korean+English byte-fallback BPE trained on the training data "
        f"(`tokenizer.json`, sha256 `{records.run_info.tokenizer_sha256 or 'n/a'}`). "
        f"This card's licence ({license}) covers the model as published; the data's own terms "
        "still apply to the data.",
    ]
    return "\n".join(lines)


def _kept_model(results: Results, training_args: dict) -> str | None:
    """Which weights were kept, by which validation score (`--metric_for_best_model`): the best
    evaluated step, or the average of several steps' weights (`--average_checkpoints`) where it
    scored at least as well."""
    metric = training_args.get("metric_for_best_model")
    score_name = f"validation {_METRIC_NAMES.get(metric, metric)}" if metric else "validation score"
    averaging = results.averaging
    average_score = _score(averaging.validation if averaging else None, metric)
    if results.averaged_steps:
        scored = f" ({average_score:.2f})" if average_score is not None else ""
        return (
            f"the average of the weights of steps {_steps(results.averaged_steps)}: its "
            f"{score_name}{scored} was at least as good as the best single step's"
        )
    if not results.best_step:
        return None
    kept = f"step {results.best_step} (best {score_name})"
    if averaging and averaging.steps:
        best_score = _score(results.validation, metric)
        scored = (
            f": {average_score:.2f} against {best_score:.2f}"
            if average_score is not None and best_score is not None
            else ""
        )
        kept += (
            f"; the average of steps {_steps(averaging.steps)} scored worse{scored}, "
            "and was not kept"
        )
    elif averaging is not None:
        kept += "; checkpoint averaging was on but had fewer than 2 evaluated steps to average"
    return kept


def _score(scores: SplitScores | None, metric: str | None) -> float | None:
    """The `metric` ("bleu", "chrf" or "loss") of `scores`; None where either is unknown."""
    return getattr(scores, metric) if scores and metric in _METRIC_NAMES else None


def _steps(steps: list[int]) -> str:
    return ", ".join(str(step) for step in steps)


def _teacher_forcing(args: dict) -> str:
    """The recipe's teacher-forcing row. Records written before the flags were renamed name the
    schedule, its start and its end `scheduled_sampling`, `_start` and `_end`."""
    names = ("teacher_forcing_schedule", "teacher_forcing_ratio", "teacher_forcing_end")
    if "teacher_forcing_schedule" not in args:
        names = ("scheduled_sampling", "scheduled_sampling_start", "scheduled_sampling_end")
    schedule, start, end = (args.get(name) for name in names)
    if schedule and schedule != "none":
        return (
            f"scheduled sampling: {schedule} decay of the ratio from {start} to {end} per "
            f"{args.get('scheduled_sampling_unit', 'step')}, "
            f"{args.get('scheduled_sampling_mode')} mode"
        )
    return f"fixed ratio {args.get('teacher_forcing_ratio', 1.0)} (1.0 = always gold)"


def _recipe_section(records: RunRecords) -> str:
    args = records.training_args
    results = records.results
    run_info = records.run_info
    curriculum = (
        f"shortest pairs first, widening from {args.get('curriculum_start')} of the pairs to all "
        f"of them over {args.get('curriculum_steps')} steps"
        if args.get("curriculum")
        else "off"
    )
    max_steps = args.get("max_train_steps")
    loss, runtime = results.train_loss, results.train_runtime_s
    rows = [
        (
            "Training length",
            f"{max_steps} optimizer steps"
            if max_steps
            else f"{args.get('num_train_epochs')} epochs",
        ),
        ("Batch size per device", args.get("per_device_train_batch_size")),
        ("Gradient accumulation steps", args.get("gradient_accumulation_steps")),
        ("Learning rate", args.get("learning_rate")),
        ("LR schedule", f"{args.get('lr_scheduler_type')}, {args.get('num_warmup_steps')} warmup"),
        ("Label smoothing", args.get("label_smoothing")),
        ("Teacher forcing", _teacher_forcing(args)),
        ("Curriculum", curriculum),
        ("Mixed precision", args.get("mixed_precision")),
        ("Seed", args.get("seed")),
        ("Steps trained", results.train_steps),
        ("Kept model", _kept_model(results, args)),
        ("Final training loss", f"{loss:.4f}" if loss is not None else None),
        ("Training time", f"{runtime:.1f} s" if runtime is not None else None),
    ]
    rows = [(name, value) for name, value in rows if value is not None]
    environment = ", ".join(
        f"{name} {version}"
        for name, version in (
            (PACKAGE_NAME, run_info.package_version),
            ("torch", run_info.torch_version),
            ("transformers", run_info.transformers_version),
        )
        if version
    )
    commit = run_info.git_commit
    trained_with = f"Trained with {environment}" + (f" (commit `{commit}`)." if commit else ".")
    return "## Training recipe\n\n" + _table(rows, ("Setting", "Value")) + f"\n\n{trained_with}"


def _decoding_name(beams) -> str:
    return {None: "the saved generation settings", 1: "greedy"}.get(beams, f"beam {beams}")


def _split_decoding(split: str, results: Results, training_args: dict) -> str:
    """How train.py decoded a split: validation may be greedy on its first pairs (selection)."""
    test_beams = results.num_beams
    if split == "validation":
        beams = training_args.get("eval_num_beams") or test_beams
        limit = training_args.get("eval_max_samples")
    else:
        beams, limit = test_beams, training_args.get("max_predict_samples")
    return _decoding_name(beams) + (f", first {limit} pairs" if limit else "")


def _evaluation_section(records: RunRecords) -> str:
    results, training_args = records.results, records.training_args
    rows, signatures = [], []
    for split, scores in results.scored_splits().items():
        if scores.bleu is None:
            continue
        chrf_text = f"{scores.chrf:.2f}" if scores.chrf is not None else "n/a"
        decoding = _split_decoding(split, results, training_args)
        rows.append(f"| {split} | {scores.bleu:.2f} | {chrf_text} | {decoding} |")
        for metric, signature in (("bleu", scores.bleu_signature), ("chrf", scores.chrf_signature)):
            if signature:
                signatures.append(f"{split} {metric}: {signature}")
    if not rows:
        return "## Evaluation\n\nNo evaluation results were recorded for this run."
    if results.averaged_steps:
        averaged = _steps(results.averaged_steps)
        kept = f" (validation: the kept model, the average of steps {averaged})"
    elif results.best_step:
        kept = f" (validation: the kept checkpoint, step {results.best_step})"
    else:
        kept = ""
    text = [
        "## Evaluation",
        "",
        f"sacreBLEU scores on held-out data{kept}:",
        "",
        "| Split | BLEU | chrF | Decoding |",
        "|---|---|---|---|",
        *rows,
    ]
    if results.test_by_source:
        text += [
            "",
            "Test scores by data source (where the model works and where it does not):",
            "",
            "| Source | Pairs | BLEU | chrF |",
            "|---|---|---|---|",
            *(
                f"| {_source_label(source, records.hub_dataset)} | {row.pairs:,} | "
                f"{row.bleu:.2f} | {row.chrf:.2f} |"
                for source, row in results.test_by_source.items()
            ),
        ]
    if signatures:
        text += ["", "sacreBLEU signatures:", "", "```", *signatures, "```"]
    return "\n".join(text)


def _usage_section(model: str, staged: bool) -> str:
    """Loading and translating, in two snippets that run as written against `model`."""
    note = (
        "\n\nThis card was staged without a repository id, so the snippets load the staged "
        "folder; stage again with `--repo_id` for a card to upload."
        if staged
        else ""
    )
    return f"""## Usage

Needs `transformers>={min_transformers_version()}` and `torch`.{note}

```python
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{model}", trust_remote_code=True)
model = AutoModel.from_pretrained("{model}", trust_remote_code=True)  # or AutoModelForSeq2SeqLM
inputs = tokenizer(["오늘 날씨가 정말 좋네요."], return_tensors="pt")
output_ids = model.generate(**inputs, num_beams=5, max_new_tokens=64)
print(tokenizer.batch_decode(output_ids, skip_special_tokens=True))
```

```python
from transformers import pipeline

translator = pipeline("translation", model="{model}", trust_remote_code=True)
print(translator(["안녕하세요.", "감사합니다."]))  # [{{"translation_text": ...}}, ...]
```"""


def _limitations_section(records: RunRecords) -> str:
    train_pairs = records.run_info.data.train_pairs
    size = f"{train_pairs:,} sentence pairs" if train_pairs is not None else "a limited corpus"
    lines = [
        "## Limitations",
        "",
        "- A recurrent encoder-decoder trained from scratch on "
        f"{size}: expect far lower quality than large Transformer translators, especially on "
        "long sentences, rare words and domains unlike the training data.",
        "- Korean → English only, one sentence at a time; the pipeline truncates sources longer "
        "than the tokenizer's `model_max_length`.",
        "- Characters unseen in training are spelled as byte tokens and are often mistranslated.",
        "- The model repeats the biases and errors of its training data; check its output before "
        "relying on it.",
    ]
    warning = aihub_warning(records)
    if warning:
        lines.append(f"- {warning[0].upper()}{warning[1:]}")
    return "\n".join(lines)


def _figures_section(figures: tuple[str, ...]) -> str:
    images = [
        f"### {FIGURES[name]}\n\n![{FIGURES[name]}]({name})" for name in FIGURES if name in figures
    ]
    return "## Figures\n\n" + "\n\n".join(images) if images else ""
