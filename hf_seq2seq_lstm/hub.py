"""Publish a trained model folder as a complete, self-describing Hugging Face Hub repository.

`stage_repository` writes exactly what a Hub repository needs into a local folder: the weights,
configs, tokenizer, the package's remote-code files and a model card built from the run's own
records (`training_args.json`, `all_results.json`, `run_info.json`). `upload` sends such a folder
in one commit; `publish` does both, checking everything that can fail before anything is written
or sent. Checkpoints, optimizer state, predictions, logs and the run records themselves never
leave the machine; the card names data files by their base name only, never by local path.

`stage_space` and `publish_space` do the same for the Gradio demo (`app.py`) as a Hugging Face
Space that loads a published model repository.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import (
    EvalResult,
    HfApi,
    ModelCard,
    ModelCardData,
    SpaceCard,
    SpaceCardData,
    get_token,
)
from huggingface_hub.errors import HTTPError
from huggingface_hub.utils import HFValidationError, validate_repo_id
from packaging.requirements import Requirement
from safetensors import safe_open

from . import (
    alignment,
    configuration_seq2seq_lstm,
    modeling_seq2seq_lstm,
    pipeline_seq2seq_lstm,
    plotting,
)
from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .modeling_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from .pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline

logger = logging.getLogger(__name__)

PACKAGE_NAME = "hf_seq2seq_lstm"
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# Written by some tokenizer versions; uploaded when present, never required.
OPTIONAL_TOKENIZER_FILES = ("special_tokens_map.json", "added_tokens.json")
RUN_RECORD_FILES = ("training_args.json", "all_results.json", "run_info.json")
IMAGE_FILES = ("training_curves.png", "attention.png")
REMOTE_CODE_MODULES = (configuration_seq2seq_lstm, modeling_seq2seq_lstm, pipeline_seq2seq_lstm)
MODEL_CARD_FILE = "README.md"
# Used only where the package's own metadata cannot be read (e.g. the source tree on sys.path).
FALLBACK_MIN_TRANSFORMERS_VERSION = "5.24"
PLACEHOLDER_REPO_ID = "your-username/ko-en-lstm"
SPACE_FILES = ("app.py", "requirements.txt", "packages.txt", "README.md")
# The package is not installable on a Space, so the modules app.py imports from it are inlined
# into the Space's app.py; each needs only the libraries in SPACE_REQUIREMENTS.
SPACE_INLINED_MODULES = (alignment, plotting)
# What the Space's app.py imports besides gradio (which the Space's sdk_version installs), and
# what the model's remote code needs. Upper bounds keep a rebuilt Space on tested major versions.
SPACE_REQUIREMENTS = (
    "torch>=2.1,<3",
    "transformers>={min_transformers},<6",
    "tokenizers>=0.22,<1",
    "safetensors>=0.4,<1",
    "matplotlib>=3.7,<4",
    "numpy>=1.24,<3",
    "pillow>=10,<13",
)
# Debian's NanumGothic, where plotting.DEBIAN_KOREAN_FONT looks: Hangul on the heatmap axes.
SPACE_APT_PACKAGES = ("fonts-nanum",)
# The line of app.py that names its default model; the Space's copy names its model repository.
_APP_DEFAULT_MODEL = re.compile(r"^DEFAULT_MODEL_DIR = .*$", re.MULTILINE)
_REPO_ID_HINT = 'expected "owner/name", e.g. "alice/ko-en-lstm"'
_LICENSE_PATTERN = re.compile(r"[a-z0-9][a-z0-9.+-]*")
# AI Hub releases its corpora as spreadsheets and as JSON files with Korean names.
_AIHUB_NAME_PATTERN = re.compile(r"ai[ _-]?hub|구어체|대화체|문어체|한영|말뭉치", re.IGNORECASE)
_SPLIT_NAMES = {"eval": "validation", "test": "test"}
_CELL_WITH_ARTICLE = {"lstm": "an LSTM", "gru": "a GRU"}


class PublishError(Exception):
    """A problem the user can fix; the message says what is wrong and what to do."""


@dataclass
class RunRecords:
    """What a trained model folder says about itself (the parsed JSON files)."""

    config: dict
    training_args: dict
    results: dict
    run_info: dict


def validate_model_dir(model_dir: str | os.PathLike) -> Path:
    """Check that `model_dir` is a folder written by train.py and return it as a `Path`.

    Raises:
        PublishError: the folder is missing, lacks required files (all of them are named), or
            holds a model of another type.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise PublishError(f"model folder {folder} does not exist; pass train.py's --output_dir")
    required = MODEL_FILES + TOKENIZER_FILES + RUN_RECORD_FILES
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise PublishError(
            f"{folder} is not a trained model folder: missing {', '.join(missing)}. "
            "Pass the --output_dir of a finished train.py run."
        )
    model_type = _read_json(folder / "config.json").get("model_type")
    if model_type != Seq2SeqLSTMConfig.model_type:
        raise PublishError(
            f"{folder / 'config.json'} describes a {model_type!r} model, "
            f"not {Seq2SeqLSTMConfig.model_type!r}"
        )
    return folder


def read_run_records(model_dir: str | os.PathLike) -> RunRecords:
    """Parse the config and the run records of a validated model folder."""
    folder = validate_model_dir(model_dir)
    return RunRecords(
        config=_read_json(folder / "config.json"),
        training_args=_read_json(folder / "training_args.json"),
        results=_read_json(folder / "all_results.json"),
        run_info=_read_json(folder / "run_info.json"),
    )


def check_repo_id(repo_id: str) -> str:
    """Return `repo_id` if it is a valid "owner/name" Hub model id, else raise `PublishError`."""
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise PublishError(f"invalid repo_id {repo_id!r}: {_REPO_ID_HINT}")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise PublishError(f"invalid repo_id {repo_id!r}: {error} ({_REPO_ID_HINT})") from None
    return repo_id


def resolve_token(token: str | None = None) -> str | None:
    """The explicit token, else `HF_TOKEN`, else the saved `hf auth login` token, else None."""
    return token or get_token()


def resolve_license(license: str | None, run_info: dict) -> str:
    """The card's licence: `license` if given, else the training data's, else `PublishError`.

    Returns a lower-case Hub licence identifier such as "cc-by-4.0" or "apache-2.0".
    """
    chosen = license or (run_info.get("data") or {}).get("license")
    if not chosen:
        raise PublishError(
            "the training data's licence is unknown, so the model's cannot be derived: "
            'pass --license with a Hub licence identifier (e.g. "apache-2.0", "cc-by-4.0", '
            'or "other" for terms of your own)'
        )
    identifier = chosen.strip().lower()
    if not _LICENSE_PATTERN.fullmatch(identifier):
        raise PublishError(
            f"licence {chosen!r} is not a Hub licence identifier such as 'cc-by-4.0'"
        )
    return identifier


def aihub_warning(records: RunRecords) -> str | None:
    """A warning to show before publishing when the model was trained on AI Hub data, else None.

    AI Hub is detected from run_info's `data.aihub` flag, and from data file names (spreadsheets,
    the Korean corpus names AI Hub uses) in case an older run did not record the flag.
    """
    data = records.run_info.get("data") or {}
    file_names = [Path(path).name for path in _data_file_paths(records)]
    suspects = [
        name for name in file_names if name.endswith(".xlsx") or _AIHUB_NAME_PATTERN.search(name)
    ]
    if not data.get("aihub") and not suspects:
        return None
    evidence = f" (files: {', '.join(sorted(set(suspects)))})" if suspects else ""
    return (
        f"this model was trained on AI Hub data{evidence}. AI Hub's terms of use restrict "
        "redistribution of its data and may restrict publishing models trained on it: check "
        "the terms of every dataset you used, and consider --private, before publishing."
    )


def count_parameters(weights_file: str | os.PathLike) -> int:
    """Number of stored parameters in a safetensors file (tied weights are stored once)."""
    with safe_open(str(weights_file), framework="pt") as weights:
        return sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())


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


def make_model_card(
    model_dir: str | os.PathLike, license: str, repo_id: str | None = None
) -> ModelCard:
    """The model card (README.md) of a trained model folder.

    Args:
        model_dir: a folder that `validate_model_dir` accepts.
        license: the card's Hub licence identifier (see `resolve_license`).
        repo_id: the repository the card will live in, used in the usage snippets and as the
            model-index name; a placeholder when None.
    """
    folder = Path(model_dir)
    records = read_run_records(folder)
    repo_id = repo_id or PLACEHOLDER_REPO_ID
    config = records.config
    dataset_name = _hub_dataset_id(records.training_args)
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
        model_name=repo_id,
        eval_results=_eval_results(records.results, dataset_name) or None,
        # The Hub's hosted inference cannot run remote code; hide the widget rather than
        # show one that fails.
        inference=False,
    )
    sections = [
        _overview_section(records, repo_id),
        _architecture_section(config, count_parameters(folder / "model.safetensors")),
        _data_section(records, license),
        _recipe_section(records),
        _evaluation_section(records.results, records.training_args),
        _usage_section(repo_id),
        _limitations_section(records),
        _images_section(folder),
    ]
    body = "\n\n".join(section for section in sections if section)
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}\n")


def stage_repository(
    model_dir: str | os.PathLike,
    local_dir: str | os.PathLike,
    license: str | None = None,
    repo_id: str | None = None,
) -> Path:
    """Write exactly the files to upload into `local_dir`, which must be absent or empty.

    The files are written to a hidden sibling folder and moved into place in one rename, so an
    error never leaves a half-written `local_dir`. Logs the AI Hub warning where it applies.

    Returns:
        `local_dir` as a `Path`.
    """
    records = read_run_records(model_dir)
    license = resolve_license(license, records.run_info)
    target = _check_local_dir(local_dir)
    _warn_about_aihub(records)
    with _staging_folder(target) as staged:
        _write_repository(Path(model_dir), staged, make_model_card(model_dir, license, repo_id))
    return target


def upload(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    repo_type: str = "model",
) -> str:
    """Create `repo_id` if missing and upload `folder` to it in one commit.

    Args:
        folder: a staged folder (see `stage_repository`, `stage_space`); its files become the
            repository's.
        repo_id: "owner/name".
        token: a Hub token with write access to `owner`.
        private: create the repository as private (an existing one keeps its visibility).
        revision: the branch to commit to, created from the default branch when missing;
            None commits to the default branch.
        commit_message: defaults to "Upload Korean->English model" (or "... demo").
        repo_type: "model", or "space" for a Gradio Space.

    Returns:
        The URL of the commit.

    Raises:
        PublishError: the Hub could not be reached or refused the upload.
    """
    api = HfApi(token=token)
    is_space = repo_type == "space"
    # Model uploads name no repo_type: "model" is the Hub's default.
    kind = {"repo_type": repo_type} if is_space else {}
    try:
        # None, not False, when --private is absent: an organisation's default visibility holds.
        api.create_repo(
            repo_id,
            private=private or None,
            exist_ok=True,
            **kind,
            **({"space_sdk": "gradio"} if is_space else {}),
        )
        if revision and not revision.startswith("refs/"):
            api.create_branch(repo_id, branch=revision, exist_ok=True, **kind)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            revision=revision,
            commit_message=commit_message
            or f"Upload Korean->English {'demo' if is_space else 'model'}",
            **kind,
        )
    except (OSError, HTTPError) as error:
        url = f"https://huggingface.co/{'spaces/' if is_space else ''}{repo_id}"
        raise PublishError(
            f"uploading to {url} failed: {type(error).__name__}: "
            f"{error}\nCheck the internet connection, that HF_HUB_OFFLINE is not set, that the "
            f"token has write access to '{repo_id.split('/')[0]}' (hf auth whoami), and the "
            "repo_id and revision."
        ) from error
    return commit.commit_url


def publish(
    model_dir: str | os.PathLike,
    repo_id: str | None,
    *,
    license: str | None = None,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    dry_run: bool = False,
    local_dir: str | os.PathLike | None = None,
) -> str | Path:
    """Stage a trained model folder and upload it, or with `dry_run` only stage it.

    Every check (model folder, repo id, token, licence, `local_dir`) runs before anything is
    written or sent. `local_dir` receives the uploaded files only once the upload succeeded.

    Returns:
        The commit URL, or `local_dir` for a dry run.

    Raises:
        PublishError: any problem the user can fix, named in the message.
    """
    if dry_run:
        if local_dir is None:
            raise PublishError("a dry run needs --local_dir, the folder to write the files to")
        if repo_id is not None:
            check_repo_id(repo_id)
        return stage_repository(model_dir, local_dir, license=license, repo_id=repo_id)
    if repo_id is None:
        raise PublishError(f"--repo_id is required to upload ({_REPO_ID_HINT})")
    check_repo_id(repo_id)
    token = _require_token(token)
    records = read_run_records(model_dir)
    license = resolve_license(license, records.run_info)
    target = _check_local_dir(local_dir) if local_dir is not None else None
    _warn_about_aihub(records)
    with _staging_folder(target) as staged:
        _write_repository(Path(model_dir), staged, make_model_card(model_dir, license, repo_id))
        commit_url = upload(
            staged,
            repo_id,
            token=token,
            private=private,
            revision=revision,
            commit_message=commit_message,
        )
    return commit_url


def push_model_dir(
    model_dir: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    license: str | None = None,
) -> str:
    """Upload a finished train.py output folder (train.py's `--push_to_hub`); see `publish`."""
    return publish(model_dir, repo_id, token=token, private=private, license=license)


def space_requirements() -> list[str]:
    """The Space's requirements.txt lines: bounded versions of what its app.py imports."""
    return [line.format(min_transformers=min_transformers_version()) for line in SPACE_REQUIREMENTS]


def gradio_sdk_version() -> str:
    """The installed gradio's version: the Space runs the gradio the app was tried with."""
    try:
        return importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:
        raise PublishError(
            "staging a Space needs gradio, whose version becomes the Space's sdk_version: "
            "pip install -e '.[demo]'"
        ) from None


def space_app_source(app_file: str | os.PathLike, model_repo_id: str) -> str:
    """The Space's app.py: `app_file` loading `model_repo_id` by default, without the package.

    Each `from hf_seq2seq_lstm.<module> import ...` line is replaced by that module's source
    (SPACE_INLINED_MODULES), and the DEFAULT_MODEL_DIR line names `model_repo_id`.

    Raises:
        PublishError: `app_file` lacks one of those lines, or imports another part of the
            package, which the Space could not find.
    """
    source = Path(app_file).read_text(encoding="utf-8")
    for module in SPACE_INLINED_MODULES:
        statement = re.compile(rf"^from {re.escape(module.__name__)} import .*\n", re.MULTILINE)
        module_source = Path(module.__file__).read_text(encoding="utf-8")
        inlined = f"# {module.__name__}, inlined for the Space\n{module_source}\n"
        source, count = statement.subn(lambda _, text=inlined: text, source)
        if count != 1:
            raise PublishError(f"{app_file} has no single `from {module.__name__} import` line")
    source, count = _APP_DEFAULT_MODEL.subn(f"DEFAULT_MODEL_DIR = {model_repo_id!r}", source)
    if count != 1:
        raise PublishError(f"{app_file} has no single DEFAULT_MODEL_DIR line to point at the model")
    leftover = re.search(rf"^(?:from|import) {PACKAGE_NAME}\b.*$", source, re.MULTILINE)
    if leftover:
        raise PublishError(
            f"{app_file} imports the package ({leftover.group(0)!r}), which a Space cannot install"
        )
    return source


def make_space_card(space_id: str, model_repo_id: str, license: str | None = None) -> SpaceCard:
    """The Space's README.md: the metadata the Hub builds it from, and what the page does."""
    card_data = SpaceCardData(
        title=space_id.split("/")[-1],
        sdk="gradio",
        sdk_version=gradio_sdk_version(),
        app_file="app.py",
        models=[model_repo_id],
        # Optional for a Space (its code is this package's); validated like the model card's.
        license=resolve_license(license, {}) if license else None,
        short_description="Korean to English RNN translation with its attention heatmap",
        tags=["translation", "seq2seq", "rnn", "attention", PACKAGE_NAME],
    )
    body = f"""# {space_id.split("/")[-1]}

Korean → English translation with [{model_repo_id}](https://huggingface.co/{model_repo_id}), an
RNN encoder-decoder trained with `{PACKAGE_NAME}`. Type Korean (one sentence per line) and press
Translate: the page shows the English, the n-best list with scores and the cross-attention
heatmap of one sentence. Greedy search, beam search and sampling are one click away.

The translation is also an API endpoint:

```python
from gradio_client import Client

print(Client("{space_id}").predict("안녕하세요", api_name="/translate")[0])
```
"""
    return SpaceCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")


def stage_space(
    app_file: str | os.PathLike,
    local_dir: str | os.PathLike,
    space_id: str,
    model_repo_id: str,
    license: str | None = None,
) -> Path:
    """Write the Space's files (SPACE_FILES, nothing else) into `local_dir`, absent or empty.

    Args:
        app_file: the demo, the repository's top-level app.py.
        local_dir: the folder to write; as with `stage_repository`, never left half-written.
        space_id: the Space, "owner/name".
        model_repo_id: the Hub model repository the Space's app loads.
        license: the Space card's licence identifier, if any.

    Returns:
        `local_dir` as a `Path`.
    """
    check_repo_id(space_id)
    check_repo_id(model_repo_id)
    target = _check_local_dir(local_dir)
    with _staging_folder(target) as staged:
        _write_space(staged, app_file, space_id, model_repo_id, license)
    return target


def publish_space(
    app_file: str | os.PathLike,
    space_id: str,
    model_repo_id: str,
    *,
    license: str | None = None,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    dry_run: bool = False,
    local_dir: str | os.PathLike | None = None,
) -> str | Path:
    """Stage the demo as a Space and upload it, or with `dry_run` only stage it.

    Like `publish`: every check runs before anything is written or sent, and `local_dir`
    receives the uploaded files only once the upload succeeded.

    Returns:
        The commit URL, or `local_dir` for a dry run.
    """
    if dry_run:
        if local_dir is None:
            raise PublishError("a dry run needs --local_dir, the folder to write the files to")
        return stage_space(app_file, local_dir, space_id, model_repo_id, license=license)
    check_repo_id(space_id)
    check_repo_id(model_repo_id)
    token = _require_token(token)
    target = _check_local_dir(local_dir) if local_dir is not None else None
    with _staging_folder(target) as staged:
        _write_space(staged, app_file, space_id, model_repo_id, license)
        commit_url = upload(
            staged,
            space_id,
            token=token,
            private=private,
            revision=revision,
            commit_message=commit_message,
            repo_type="space",
        )
    return commit_url


@contextlib.contextmanager
def _staging_folder(target: Path | None):
    """A scratch folder to write the files into; when the block succeeds it becomes `target`
    (where one is given) in one rename, so `target` is never left half-written."""
    with tempfile.TemporaryDirectory(
        dir=target.parent if target is not None else None, prefix=".hub-staging."
    ) as scratch:
        staged = Path(scratch) / "staged"
        yield staged
        if target is not None:
            os.replace(staged, target)


def _require_token(token: str | None) -> str:
    """`resolve_token(token)`, or a `PublishError` that says how to provide one."""
    token = resolve_token(token)
    if not token:
        raise PublishError(
            "no Hugging Face token: pass --token, set HF_TOKEN or run `hf auth login` "
            "(the token needs write access)"
        )
    return token


def _write_space(
    staged: Path, app_file, space_id: str, model_repo_id: str, license: str | None
) -> None:
    """Fill the new folder `staged` with the Space's files (SPACE_FILES), and nothing else."""
    card = make_space_card(space_id, model_repo_id, license)
    staged.mkdir()
    (staged / "app.py").write_text(space_app_source(app_file, model_repo_id), encoding="utf-8")
    (staged / "requirements.txt").write_text("\n".join(space_requirements()) + "\n")
    (staged / "packages.txt").write_text("\n".join(SPACE_APT_PACKAGES) + "\n")
    card.save(staged / MODEL_CARD_FILE)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PublishError(f"{path} is not valid JSON: {error}") from None


def _check_local_dir(local_dir: str | os.PathLike) -> Path:
    """`local_dir` as an absolute Path, its parent created; refuses a non-empty folder."""
    target = Path(local_dir).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise PublishError(f"--local_dir {target} already exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _warn_about_aihub(records: RunRecords) -> None:
    warning = aihub_warning(records)
    if warning:
        logger.warning("AI Hub data: %s", warning)


def _write_repository(folder: Path, staged: Path, card: ModelCard) -> None:
    """Fill the new folder `staged` with the repository's files, and nothing else."""
    staged.mkdir()
    config = _read_json(folder / "config.json")
    (staged / "config.json").write_text(
        json.dumps(_with_remote_code_entries(config), indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    copied = ("generation_config.json", "model.safetensors", *TOKENIZER_FILES)
    present = [name for name in OPTIONAL_TOKENIZER_FILES + IMAGE_FILES if (folder / name).is_file()]
    for name in (*copied, *present):
        shutil.copyfile(folder / name, staged / name)
    for module in REMOTE_CODE_MODULES:
        source = Path(module.__file__)
        saved = folder / source.name
        if saved.is_file() and saved.read_bytes() != source.read_bytes():
            logger.info("%s differs from the installed package's; uploading the package's", saved)
        shutil.copyfile(source, staged / source.name)
    card.save(staged / MODEL_CARD_FILE)


def _with_remote_code_entries(config: dict) -> dict:
    """`config` with the auto_map and custom pipeline entries that remote code loading needs.

    `save_pretrained` writes these too; setting them here keeps folders saved by older versions
    of the package loadable, and names the classes of the remote-code files being uploaded.
    """

    def reference(cls):
        return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"

    model_class = reference(Seq2SeqLSTMForConditionalGeneration)
    return {
        **config,
        "auto_map": {
            **(config.get("auto_map") or {}),
            "AutoConfig": reference(Seq2SeqLSTMConfig),
            "AutoModel": model_class,
            "AutoModelForSeq2SeqLM": model_class,
        },
        "custom_pipelines": {
            **(config.get("custom_pipelines") or {}),
            "translation": {
                "impl": reference(Seq2SeqLSTMTranslationPipeline),
                "pt": ["AutoModelForSeq2SeqLM"],
                "type": "text",
            },
        },
    }


def _data_file_paths(records: RunRecords) -> list[str]:
    """Every local data file the run names: run_info's sources and training_args' *_file args."""
    sources = (records.run_info.get("data") or {}).get("sources") or []
    named = [source for source in sources if source != _hub_dataset_id(records.training_args)]
    for key, value in records.training_args.items():
        if key.endswith("_file") and value:
            named.extend([value] if isinstance(value, str) else value)
    return named


def _hub_dataset_id(training_args: dict) -> str | None:
    """`--dataset_name` when it names a Hub dataset; None when unset or a local folder."""
    name = training_args.get("dataset_name")
    if not name or Path(name).expanduser().exists():
        return None
    try:
        validate_repo_id(name)
    except HFValidationError:
        return None
    return name


# The card's credit for the built-in koen corpus (hf_seq2seq_lstm/koen_data/README.md has more).
BUILTIN_KOEN_DESCRIPTION = (
    f"the {PACKAGE_NAME} built-in `koen` corpus (14,468 training pairs; CC BY-SA 4.0 as a whole): "
    "Tatoeba (tatoeba.org, CC BY 2.0 FR; per-sentence credits in the package's "
    "`koen_data/tatoeba_attribution.tsv`), the Korean Parallel Corpora news and JHE pairs (Park, "
    "Hong & Cha 2016) and their North Korean rewrite (Kim, Hirasawa & Komachi 2020), NTREX-128 "
    "(Federmann, Kocmi & Xin 2022), Universal Dependencies PUD, and FLORES-200 (NLLB Team 2022) "
    "in the SIB-200 selection (CC BY-SA 3.0 / 4.0)"
)


def _describe_source(source: str, hub_dataset_id: str | None) -> str:
    """A source as the card shows it: a Hub link, the sample corpus, or a base name only."""
    if source == hub_dataset_id:
        return f"[{source}](https://huggingface.co/datasets/{source}) (Hub dataset)"
    path = Path(source)
    if source == "builtin:sample":
        return f"the {PACKAGE_NAME} built-in sample corpus of hand-written everyday sentences"
    if source == "builtin:koen":
        return BUILTIN_KOEN_DESCRIPTION
    return f"`{path.name}` (local data)"


def _eval_results(results: dict, dataset_name: str | None) -> list[EvalResult]:
    """BLEU and chrF of every scored split, for the card's `model-index`."""
    eval_results = []
    for prefix, split in _SPLIT_NAMES.items():
        for metric, metric_name in (("bleu", "BLEU"), ("chrf", "chrF")):
            value = results.get(f"{prefix}_{metric}")
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
                    metric_config=results.get(f"{prefix}_{metric}_signature"),
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
    version = records.run_info.get("package_version", "")
    return (
        f"# {repo_id.split('/')[-1]}\n\n"
        f"A Korean→English translator: {_CELL_WITH_ARTICLE[config['cell_type']]} "
        f"encoder-decoder with {attention} attention, trained with `{PACKAGE_NAME}` {version}.\n\n"
        "The model's code ships in this repository (`configuration_seq2seq_lstm.py`, "
        "`modeling_seq2seq_lstm.py`, `pipeline_seq2seq_lstm.py`), so it loads with plain "
        f"`transformers>={min_transformers_version()}` and `torch` and "
        "`trust_remote_code=True`; the package itself is not needed. The Hub's hosted inference "
        "widget cannot run remote code and is switched off (`inference: false`): run the model "
        "locally as shown under Usage."
    )


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
    data = records.run_info.get("data") or {}
    dataset_name = _hub_dataset_id(records.training_args)
    sources = data.get("sources") or ([dataset_name] if dataset_name else [])
    lines = ["## Training data", ""]
    lines += [f"- {_describe_source(source, dataset_name)}" for source in sources]
    if data.get("train_pairs") is not None:
        lines.append(f"- {data['train_pairs']:,} training sentence pairs after cleaning")
    data_license = data.get("license")
    lines.append(
        f"- Data licence: {data_license}" if data_license else "- Data licence: not recorded"
    )
    lines += [
        "",
        f"Tokenizer: a joint Korean+English byte-fallback BPE trained on the training data "
        f"(`tokenizer.json`, sha256 `{records.run_info.get('tokenizer_sha256', 'n/a')}`). "
        f"This card's licence ({license}) covers the model as published; the data's own terms "
        "still apply to the data.",
    ]
    return "\n".join(lines)


def _recipe_section(records: RunRecords) -> str:
    args = records.training_args
    results = records.results
    run_info = records.run_info
    schedule = args.get("scheduled_sampling")
    if schedule and schedule != "none":
        teacher_forcing = (
            f"scheduled sampling: {schedule} decay of the ratio from "
            f"{args.get('scheduled_sampling_start')} to {args.get('scheduled_sampling_end')} per "
            f"{args.get('scheduled_sampling_unit', 'step')}, "
            f"{args.get('scheduled_sampling_mode')} mode"
        )
    else:
        teacher_forcing = (
            f"fixed ratio {args.get('teacher_forcing_ratio', 1.0)} (1.0 = always gold)"
        )
    curriculum = (
        f"shortest pairs first, widening from {args.get('curriculum_start')} of the pairs to all "
        f"of them over {args.get('curriculum_steps')} steps"
        if args.get("curriculum")
        else "off"
    )
    best_step = results.get("best_step")
    max_steps = args.get("max_train_steps")
    loss, runtime = results.get("train_loss"), results.get("train_runtime_s")
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
        ("Teacher forcing", teacher_forcing),
        ("Curriculum", curriculum),
        ("Mixed precision", args.get("mixed_precision")),
        ("Seed", args.get("seed")),
        ("Steps trained", results.get("train_steps")),
        ("Kept checkpoint", f"step {best_step} (best validation BLEU)" if best_step else None),
        ("Final training loss", f"{loss:.4f}" if loss is not None else None),
        ("Training time", f"{runtime:.1f} s" if runtime is not None else None),
    ]
    rows = [(name, value) for name, value in rows if value is not None]
    environment = ", ".join(
        f"{name} {run_info[key]}"
        for name, key in (
            (PACKAGE_NAME, "package_version"),
            ("torch", "torch_version"),
            ("transformers", "transformers_version"),
        )
        if run_info.get(key)
    )
    commit = run_info.get("git_commit")
    trained_with = f"Trained with {environment}" + (f" (commit `{commit}`)." if commit else ".")
    return "## Training recipe\n\n" + _table(rows, ("Setting", "Value")) + f"\n\n{trained_with}"


def _decoding_name(beams) -> str:
    return {None: "the saved generation settings", 1: "greedy"}.get(beams, f"beam {beams}")


def _split_decoding(prefix: str, results: dict, training_args: dict) -> str:
    """How train.py decoded a split: validation may be greedy on its first pairs (selection)."""
    test_beams = results.get("num_beams")
    if prefix == "eval":
        beams = training_args.get("eval_num_beams") or test_beams
        limit = training_args.get("eval_max_samples")
    else:
        beams, limit = test_beams, training_args.get("max_predict_samples")
    return _decoding_name(beams) + (f", first {limit} pairs" if limit else "")


def _evaluation_section(results: dict, training_args: dict) -> str:
    rows, signatures = [], []
    for prefix, split in _SPLIT_NAMES.items():
        if results.get(f"{prefix}_bleu") is None:
            continue
        chrf = results.get(f"{prefix}_chrf")
        chrf_text = f"{chrf:.2f}" if chrf is not None else "n/a"
        decoding = _split_decoding(prefix, results, training_args)
        rows.append(f"| {split} | {results[f'{prefix}_bleu']:.2f} | {chrf_text} | {decoding} |")
        for metric in ("bleu", "chrf"):
            signature = results.get(f"{prefix}_{metric}_signature")
            if signature:
                signatures.append(f"{split} {metric}: {signature}")
    if not rows:
        return "## Evaluation\n\nNo evaluation results were recorded for this run."
    text = [
        "## Evaluation",
        "",
        "sacreBLEU scores on held-out data"
        + (
            f" (validation: the kept checkpoint, step {results['best_step']}):"
            if results.get("best_step")
            else ":"
        ),
        "",
        "| Split | BLEU | chrF | Decoding |",
        "|---|---|---|---|",
        *rows,
    ]
    if signatures:
        text += ["", "sacreBLEU signatures:", "", "```", *signatures, "```"]
    return "\n".join(text)


def _usage_section(repo_id: str) -> str:
    return f"""## Usage

Needs `transformers>={min_transformers_version()}` and `torch`.

```python
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{repo_id}", trust_remote_code=True)
model = AutoModel.from_pretrained("{repo_id}", trust_remote_code=True)  # or AutoModelForSeq2SeqLM
inputs = tokenizer(["오늘 날씨가 정말 좋네요."], return_tensors="pt")
output_ids = model.generate(**inputs, num_beams=5, max_new_tokens=64)
print(tokenizer.batch_decode(output_ids, skip_special_tokens=True))
```

```python
from transformers import pipeline

translator = pipeline("translation", model="{repo_id}", trust_remote_code=True)
print(translator(["안녕하세요.", "감사합니다."]))  # [{{"translation_text": ...}}, ...]
```"""


def _limitations_section(records: RunRecords) -> str:
    train_pairs = (records.run_info.get("data") or {}).get("train_pairs")
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


def _images_section(folder: Path) -> str:
    captions = {"training_curves.png": "Training curves", "attention.png": "Attention weights"}
    images = [
        f"### {captions[name]}\n\n![{captions[name]}]({name})"
        for name in IMAGE_FILES
        if (folder / name).is_file()
    ]
    return "## Figures\n\n" + "\n\n".join(images) if images else ""
