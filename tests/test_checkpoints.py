"""atomic_dir: a folder is either the old one or the complete new one, never half-written."""

import pytest

from hf_seq2seq_lstm.checkpoints import atomic_dir


class Interrupted(Exception):
    pass


def write_folder(folder, text):
    folder.mkdir()
    (folder / "weights.bin").write_text(text)


def test_a_finished_block_replaces_the_folder_in_one_rename(tmp_path):
    target = tmp_path / "checkpoint-5"
    write_folder(target, "old")
    (target / "stale.bin").write_text("from the old folder")
    with atomic_dir(target) as scratch:
        assert not scratch.exists() and scratch.parent == tmp_path
        write_folder(scratch, "new")
        assert (target / "weights.bin").read_text() == "old"  # untouched until the end
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint-5"]
    assert sorted(path.name for path in target.iterdir()) == ["weights.bin"]
    assert (target / "weights.bin").read_text() == "new"


def test_a_failed_block_leaves_the_folder_as_it_was_and_no_scratch(tmp_path):
    target = tmp_path / "staged"
    write_folder(target, "old")
    with pytest.raises(Interrupted), atomic_dir(target) as scratch:
        write_folder(scratch, "half")
        raise Interrupted
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staged"]
    assert (target / "weights.bin").read_text() == "old"


def test_a_stale_scratch_folder_of_a_killed_run_is_cleared_first(tmp_path):
    target = tmp_path / "checkpoint-5"
    write_folder(tmp_path / ".partial-checkpoint-5", "killed mid-write")
    (tmp_path / ".partial-checkpoint-5" / "optimizer.bin").write_text("half")
    with atomic_dir(target) as scratch:
        write_folder(scratch, "new")
    assert sorted(path.name for path in target.iterdir()) == ["weights.bin"]


def test_merge_replaces_namesakes_and_keeps_the_other_files(tmp_path):
    output_dir = tmp_path / "run"
    write_folder(output_dir, "old")
    (output_dir / "notes.txt").write_text("kept")
    with atomic_dir(output_dir, merge=True) as staging:
        write_folder(staging, "new")
        (staging / "config.json").write_text("{}")
    assert sorted(path.name for path in output_dir.iterdir()) == [
        "config.json",
        "notes.txt",
        "weights.bin",
    ]
    assert (output_dir / "weights.bin").read_text() == "new"


def test_a_process_that_does_not_own_the_folder_only_writes_into_it(tmp_path):
    target = tmp_path / "checkpoint-5"
    with atomic_dir(target, owner=False) as scratch:
        write_folder(scratch, "rank 1")
    assert not target.exists() and (scratch / "weights.bin").read_text() == "rank 1"


def test_without_a_target_the_folder_is_scratch_and_removed_afterwards():
    with atomic_dir(None) as scratch:
        write_folder(scratch, "uploaded")
    assert not scratch.exists() and not scratch.parent.exists()
