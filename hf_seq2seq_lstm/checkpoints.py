"""What a training run keeps on disk.

Every folder is written by `atomic_dir`: into a scratch folder first, then moved into place, so
a killed run never leaves a half-written checkpoint, model or staged Hub repository.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PARTIAL_PREFIX = ".partial-"


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
