"""Publish a trained model folder as a complete, self-describing Hugging Face Hub repository.

`stage_repository` writes exactly what a Hub repository needs into a local folder: the weights,
configs and remote-code files as `save_pretrained` writes them, the tokenizer, and a model card
built from the run's own records (`training_args.json`, `all_results.json`, `run_info.json`; see
`model_card`). `upload` sends such a folder in one commit. `publish` checks the repo id and token,
stages into a scratch folder and uploads that folder (`stage_then_upload`), so what is uploaded
is exactly what a dry run writes. Checkpoints, optimizer state, predictions, logs and the run
records themselves never leave the machine; the card names data files by their base name only.

`space` publishes the Gradio demo the same way, as a Hugging Face Space.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from huggingface_hub import HfApi, ModelCard, get_token
from huggingface_hub.errors import HTTPError
from huggingface_hub.utils import HFValidationError, validate_repo_id
from safetensors import safe_open

from .checkpoints import atomic_dir
from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .model_card import FIGURES, RunRecords, aihub_warning, make_model_card
from .modeling_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration
from .run_records import Results, RunInfo

logger = logging.getLogger(__name__)

MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# Written by some tokenizer versions; uploaded when present, never required.
OPTIONAL_TOKENIZER_FILES = ("special_tokens_map.json", "added_tokens.json")
RUN_RECORD_FILES = ("training_args.json", Results.FILE, RunInfo.FILE)
MODEL_CARD_FILE = "README.md"
_REPO_ID_HINT = 'expected "owner/name", e.g. "alice/ko-en-lstm"'
_LICENSE_PATTERN = re.compile(r"[a-z0-9][a-z0-9.+-]*")


class PublishError(Exception):
    """A problem the user can fix; the message says what is wrong and what to do."""


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
    """What a validated model folder says about itself, for its model card."""
    folder = validate_model_dir(model_dir)
    training_args = _read_json(folder / "training_args.json")
    try:
        results, run_info = Results.read(folder), RunInfo.read(folder)
    except ValueError as error:
        raise PublishError(str(error)) from None
    return RunRecords(
        config=_read_json(folder / "config.json"),
        training_args=training_args,
        results=results,
        run_info=run_info,
        parameter_count=count_parameters(folder / "model.safetensors"),
        figures=tuple(name for name in FIGURES if (folder / name).is_file()),
        hub_dataset=_hub_dataset_id(training_args),
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


def resolve_license(license: str | None, data_license: str | None = None) -> str:
    """The card's licence: `license` if given, else the training data's, else `PublishError`.

    Returns a lower-case Hub licence identifier such as "cc-by-4.0" or "apache-2.0".
    """
    chosen = license or data_license
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


def count_parameters(weights_file: str | os.PathLike) -> int:
    """Number of stored parameters in a safetensors file (tied weights are stored once)."""
    with safe_open(str(weights_file), framework="pt") as weights:
        return sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())


def stage_repository(
    model_dir: str | os.PathLike,
    local_dir: str | os.PathLike,
    license: str | None = None,
    repo_id: str | None = None,
) -> Path:
    """Write exactly the files to upload into `local_dir`, which must be absent or empty.

    The files are written to a hidden sibling folder and moved into place in one rename, so an
    error never leaves a half-written `local_dir`. Logs the AI Hub warning where it applies.

    Args:
        model_dir: a folder that `validate_model_dir` accepts.
        local_dir: the folder to write.
        license: the card's licence; None derives it from the training data (`resolve_license`).
        repo_id: the repository the files are for, named by the card; None for a dry run, whose
            card shows how to load `local_dir` instead.

    Returns:
        `local_dir` as a `Path`.
    """
    if repo_id is not None:
        check_repo_id(repo_id)
    records = read_run_records(model_dir)
    license = resolve_license(license, records.run_info.data.license)
    # Without a repo id (a dry run) the card's usage snippets load the staged folder itself.
    card = make_model_card(
        records, license, repo_id, local_dir=None if repo_id else str(Path(local_dir).absolute())
    )
    _warn_about_aihub(records)
    return stage_folder(local_dir, functools.partial(_write_repository, Path(model_dir), card=card))


def stage_folder(local_dir: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write a folder with `write(folder)` and move it into place as `local_dir` in one rename.

    `local_dir` must be absent or empty. `write` fills a scratch folder beside it (a hidden
    sibling), so an error never leaves a half-written `local_dir`.

    Returns:
        `local_dir` as an absolute `Path`.
    """
    target = _check_local_dir(local_dir)
    with atomic_dir(target) as staged:
        write(staged)
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
        folder: a staged folder (see `stage_repository`, `space.stage_space`); its files become
            the repository's.
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
    sent. `local_dir` receives the uploaded files only once the upload succeeded.

    Returns:
        The commit URL, or `local_dir` for a dry run.

    Raises:
        PublishError: any problem the user can fix, named in the message.
    """
    return stage_then_upload(
        functools.partial(stage_repository, model_dir, license=license, repo_id=repo_id),
        repo_id,
        token=token,
        private=private,
        revision=revision,
        commit_message=commit_message,
        dry_run=dry_run,
        local_dir=local_dir,
    )


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


def stage_then_upload(
    stage: Callable[[Path], Path],
    repo_id: str | None,
    *,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    dry_run: bool = False,
    local_dir: str | os.PathLike | None = None,
    repo_type: str = "model",
) -> str | Path:
    """The one publish path: `stage(folder)` writes the repository's files, which are uploaded.

    With `dry_run`, `stage` writes `local_dir` and nothing is sent. Otherwise the repo id, the
    token and `local_dir` are checked first, `stage` writes a scratch folder, that folder is
    uploaded (see `upload`), and only then does it become `local_dir`, where one is given: an
    upload that fails leaves no `local_dir` behind.

    Returns:
        The commit URL, or `local_dir` as a `Path` for a dry run.
    """
    if dry_run:
        if local_dir is None:
            raise PublishError("a dry run needs --local_dir, the folder to write the files to")
        return stage(local_dir)
    if repo_id is None:
        raise PublishError(f"--repo_id is required to upload ({_REPO_ID_HINT})")
    check_repo_id(repo_id)
    token = _require_token(token)
    target = _check_local_dir(local_dir) if local_dir is not None else None
    with atomic_dir(target) as staged:
        stage(staged)
        return upload(
            staged,
            repo_id,
            token=token,
            private=private,
            revision=revision,
            commit_message=commit_message,
            repo_type=repo_type,
        )


def _require_token(token: str | None) -> str:
    """`resolve_token(token)`, or a `PublishError` that says how to provide one."""
    token = resolve_token(token)
    if not token:
        raise PublishError(
            "no Hugging Face token: pass --token, set HF_TOKEN or run `hf auth login` "
            "(the token needs write access)"
        )
    return token


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


def _write_repository(folder: Path, staged: Path, *, card: ModelCard) -> None:
    """Fill the new folder `staged` with the repository's files, and nothing else.

    The model is loaded and saved again rather than copied, so that `save_pretrained` is the one
    writer of config.json's `auto_map` and `custom_pipelines` and of the remote-code files (the
    installed package's). The tokenizer's files and the figures are copied as they are: a loaded
    and saved tokenizer would record `local_files_only` in its tokenizer_config.json.
    """
    try:
        model, loading = Seq2SeqLSTMForConditionalGeneration.from_pretrained(
            folder, output_loading_info=True
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise PublishError(f"cannot load the model in {folder}: {error}") from None
    # transformers fills weights missing from the file with fresh random ones, and says so only
    # in a log message: such a model must not be published.
    unloaded = sorted(loading["missing_keys"]) + sorted(loading["unexpected_keys"])
    if unloaded:
        raise PublishError(
            f"{folder / 'model.safetensors'} does not match {folder / 'config.json'}: "
            f"{', '.join(unloaded[:5])}{' ...' if len(unloaded) > 5 else ''} missing or unexpected"
        )
    model.save_pretrained(staged)
    present = [name for name in (*OPTIONAL_TOKENIZER_FILES, *FIGURES) if (folder / name).is_file()]
    for name in (*TOKENIZER_FILES, *present):
        shutil.copyfile(folder / name, staged / name)
    card.save(staged / MODEL_CARD_FILE)


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
