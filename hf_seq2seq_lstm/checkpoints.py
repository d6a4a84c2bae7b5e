"""What a training run keeps on disk: checkpoints, the selected model, the averaging pool.

Every folder is written by `atomic_dir`: into a scratch folder first, then moved into place, so
a killed run never leaves a half-written checkpoint, model or staged Hub repository. A
checkpoint's state file lists the size and sha256 of its files, so a resume names a damaged
file instead of loading it. The writers take the run's `accelerate.Accelerator`: in a
distributed run every process calls them, and the main process alone writes shared files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from safetensors.torch import load_model as load_model_weights
from safetensors.torch import save_model as save_model_weights

from .averaging import average_weight_files

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
STATE_FILE = "training_state.json"
CHECKPOINT_TOKENIZER_DIR = "tokenizer"  # a resumed run keeps its token ids
SNAPSHOT_DIR = "averaging"  # the weights of evaluated steps that checkpoint averaging may use
PARTIAL_PREFIX = ".partial-"
# Everything a run writes into --output_dir: what --overwrite_output_dir removes.
RUN_OUTPUT_PATTERNS = (
    "checkpoint-*", ".partial-*", SNAPSHOT_DIR, "*.safetensors", "config.json",
    "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "*_seq2seq_lstm.py", "training_args.json", "all_results.json", "run_info.json",
    "log_history.json", "test_predictions.txt", "*.png",
)  # fmt: skip


@contextlib.contextmanager
def atomic_dir(
    target: str | os.PathLike | None, *, merge: bool = False, owner: bool = True
) -> Iterator[Path]:
    """A scratch folder to write into; when the block succeeds it becomes `target`.

    Yields the path of a folder that does not exist yet (the block creates it, as
    `save_pretrained` does): `.partial-<name>` beside `target`. On success it replaces
    `target` in one rename (an existing `target` is removed first), so `target` is only ever
    the old folder or the complete new one; on an error it is removed and `target` is left as
    it was.

    Args:
        target: the folder to write. None: the folder is scratch only, made in the system's
            temporary folder and removed after the block (a staged upload).
        merge: `target` is a folder that keeps its other files (a run's output folder): the
            scratch folder lives inside it, and each of its entries replaces its namesake in
            `target` by one rename.
        owner: whether this process clears a stale scratch folder, moves it into place and
            cleans up. In a distributed run every process may write into the scratch folder
            (accelerate's `save_state`) while the main process alone owns it.
    """
    if target is None:
        with tempfile.TemporaryDirectory(prefix="staging-") as scratch:
            yield Path(scratch) / "staged"
        return
    target = Path(target)
    if merge:
        scratch = target / f"{PARTIAL_PREFIX}files"
    else:
        scratch = target.with_name(f"{PARTIAL_PREFIX}{target.name}")
    if not owner:
        yield scratch
        return
    if scratch.exists():  # left by a killed run
        shutil.rmtree(scratch)
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if merge:
        for path in scratch.iterdir():
            os.replace(path, target / path.name)
        scratch.rmdir()
        return
    if target.exists():
        shutil.rmtree(target)
    os.replace(scratch, target)


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


# --- checkpoints ----------------------------------------------------------------------------


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


def save_checkpoint(
    accelerator, state: TrainingState, tokenizer, output_dir: Path, total_limit: int | None
) -> None:
    """Write `checkpoint-<step>` atomically: accelerate's state, the tokenizer, and a state file
    whose manifest lets a resume verify every file. Keeps the newest `total_limit` (None: all)."""
    final = output_dir / f"{CHECKPOINT_PREFIX}{state.step}"
    with atomic_dir(final, owner=accelerator.is_main_process) as partial:
        accelerator.wait_for_everyone()  # the owner has cleared a stale scratch folder
        accelerator.save_state(str(partial))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            tokenizer.save_pretrained(partial / CHECKPOINT_TOKENIZER_DIR)
            record = {**dataclasses.asdict(state), "files": file_digests(partial)}
            (partial / STATE_FILE).write_text(json.dumps(record))
    if accelerator.is_main_process and total_limit:
        for old in checkpoint_dirs(output_dir)[:-total_limit]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def load_training_state(checkpoint: Path) -> TrainingState:
    record = json.loads((checkpoint / STATE_FILE).read_text())
    record.pop("files", None)
    return TrainingState(**record)


def resolve_checkpoint(resume_from_checkpoint: str | None, output_dir: Path) -> Path | None:
    """The checkpoint to resume from (`--resume_from_checkpoint`), verified against its manifest.

    `latest` falls back to the newest intact checkpoint in `output_dir` and says which ones it
    skipped; a named checkpoint that is damaged is refused with the damaged file's path.
    """
    if not resume_from_checkpoint:
        return None
    if resume_from_checkpoint == "latest":
        found = checkpoint_dirs(output_dir)
        for checkpoint in reversed(found):
            damaged = damaged_checkpoint_file(checkpoint)
            if damaged is None:
                return checkpoint
            logger.warning("skipping %s: %s is damaged or missing", checkpoint, damaged)
        logger.info("no intact checkpoint in %s: starting from scratch", output_dir)
        return None
    path = Path(resume_from_checkpoint)
    if not (path / STATE_FILE).is_file():
        raise SystemExit(f"error: {path} is not a complete checkpoint (no {STATE_FILE})")
    damaged = damaged_checkpoint_file(path)
    if damaged is not None:
        raise SystemExit(
            f"error: checkpoint {path} is damaged: {damaged} is missing, truncated or altered"
        )
    return path


def check_output_dir(
    output_dir: Path, resume_from_checkpoint: str | None, overwrite_output_dir: bool
) -> None:
    """Refuse to mix a new run with a finished or started one in --output_dir, unless resuming
    from it or --overwrite_output_dir (which removes the old run's files, and only those)."""
    if not output_dir.is_dir():
        return
    old_run = sorted(
        path.name for pattern in RUN_OUTPUT_PATTERNS for path in output_dir.glob(pattern)
    )
    if not old_run:
        return
    resuming_here = resume_from_checkpoint == "latest" or (
        resume_from_checkpoint
        and Path(resume_from_checkpoint).resolve().parent == output_dir.resolve()
    )
    if resuming_here and checkpoint_dirs(output_dir):
        return
    if not overwrite_output_dir:
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


# --- the selected model ---------------------------------------------------------------------


def save_model(accelerator, model, tokenizer, output_dir: Path) -> None:
    """The selected model and tokenizer, written beside each other then moved in file by file."""
    if not accelerator.is_main_process:
        return
    with atomic_dir(output_dir, merge=True) as staging:
        accelerator.unwrap_model(model).save_pretrained(staging)
        tokenizer.save_pretrained(staging)


# --- the averaging pool ---------------------------------------------------------------------


def snapshot_file(output_dir: Path, step: int) -> Path:
    return output_dir / SNAPSHOT_DIR / f"step-{step}.safetensors"


def keep_snapshot(
    accelerator,
    model,
    output_dir: Path,
    snapshots: list[dict],
    score: float,
    *,
    step: int,
    count: int,
    by: str,
    higher_is_better: bool,
) -> list[dict]:
    """Add this evaluated step's weights to the averaging pool; drop those it displaces.

    `snapshots` holds the pool's {"step", "score"} entries; the pool keeps `count` of them, the
    last ones (`by="last"`) or the best-scored (`by="best"`). Returns the kept entries.
    """
    snapshots = [*snapshots, {"step": step, "score": score}]
    if by == "last":
        kept = snapshots[-count:]
    else:
        ranked = sorted(snapshots, key=lambda entry: entry["score"], reverse=higher_is_better)
        kept = sorted(ranked[:count], key=lambda entry: entry["step"])
    if accelerator.is_main_process:
        path = snapshot_file(output_dir, step)
        path.parent.mkdir(exist_ok=True)
        if snapshots[-1] in kept:
            partial = path.with_name(f"{PARTIAL_PREFIX}{path.name}")
            save_model_weights(accelerator.unwrap_model(model), str(partial))
            os.replace(partial, path)
        for entry in snapshots:
            if entry not in kept:
                snapshot_file(output_dir, entry["step"]).unlink(missing_ok=True)
    accelerator.wait_for_everyone()
    return kept


def load_snapshot_average(accelerator, model, output_dir: Path, snapshots: list[dict]) -> list:
    """Load the mean of the pool's weights into `model`; returns the averaged steps ([] and
    `model` unchanged when fewer than two snapshots are on disk)."""
    files = [snapshot_file(output_dir, entry["step"]) for entry in snapshots]
    files = [path for path in files if path.is_file()]
    if len(files) < 2:
        return []
    averaged = output_dir / SNAPSHOT_DIR / "averaged.safetensors"
    if accelerator.is_main_process:
        average_weight_files(files, averaged)
    accelerator.wait_for_everyone()
    load_model_weights(accelerator.unwrap_model(model), str(averaged))
    return [int(path.stem.split("-")[1]) for path in files]
