"""The run records train.py writes beside a trained model: one dataclass each, shared by the
writer and every reader (model card, demo page, training curves, tests).

- `run_info.json`, `RunInfo`: what reproduces the run: versions, git commit, tokenizer hash, and
  the training data (`DataInfo`).
- `all_results.json`, `Results`: the training summary and the kept model's held-out scores.
- `log_history.json`, `LogHistory`: the training log and the evaluations, for the curves.

`to_json()` gives the JSON value train.py writes; its keys are a published format (Hub
repositories and Spaces read them), so they stay as they are. `write(folder)` writes a record,
`read(folder)` reads one back: a field an older file lacks reads as its default, and a field
this version does not know is ignored. `from_json` otherwise refuses unknown fields, so that a
misspelt key fails where the record is made instead of reading as missing later.

Imports only the standard library: a Space carries a copy of this file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

# AI Hub releases its Korean-English corpora as spreadsheets (원문/번역문 sheets, files named like
# 1_구어체(1).xlsx) and as JSON files with Korean names.
_AIHUB_NAME_PATTERN = re.compile(r"ai[ _-]?hub|구어체|대화체|문어체|한영|말뭉치", re.IGNORECASE)


def looks_like_aihub(path: str) -> bool:
    """Whether a data file's path says AI Hub: a spreadsheet, or a name AI Hub gives its data in
    the file's name or a folder's. Publishing a model trained on such data warns first."""
    return path.lower().endswith(".xlsx") or bool(_AIHUB_NAME_PATTERN.search(path))


class _Record:
    """`write` and `read` of a record stored as the JSON file FILE in a model folder; each
    record defines FILE, `to_json()` and `from_json(value, strict=...)`."""

    FILE: ClassVar[str]

    def write(self, folder: str | os.PathLike) -> Path:
        """Write the record as `folder`/FILE (UTF-8: data file names may be Korean)."""
        path = Path(folder) / self.FILE
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False), "utf-8")
        return path

    @classmethod
    def read(cls, folder: str | os.PathLike):
        """The record in `folder`/FILE, as this or any earlier version of train.py wrote it.

        Raises:
            FileNotFoundError: the folder has no FILE.
            ValueError: the file is not JSON, or not shaped like the record; names the file.
        """
        path = Path(folder) / cls.FILE
        try:
            return cls.from_json(json.loads(path.read_text("utf-8")), strict=False)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None


def _object(value, what: str) -> dict:
    """A copy of the JSON object `value`, to take fields from."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    return dict(value)


def _build(cls, values: dict, strict: bool, what: str):
    """`cls(**values)`; fields `cls` lacks are refused when `strict`, else dropped."""
    names = {item.name for item in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown and strict:
        raise ValueError(f"{what}: unknown fields {unknown}; known: {sorted(names)}")
    try:
        return cls(**{key: value for key, value in values.items() if key in names})
    except TypeError as error:  # a required field is missing
        raise ValueError(f"{what}: {error}") from None


def _without_none(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


@dataclass
class DataInfo:
    """The training data.

    sources: the training files, a Hub dataset id, or "builtin:<corpus>".
    license: the data's Hub licence identifier, lower-case; None where unknown.
    aihub: whether a source looks like AI Hub data (`looks_like_aihub`).
    train_pairs: training sentence pairs after cleaning.
    """

    sources: list[str] = field(default_factory=list)
    license: str | None = None
    aihub: bool = False
    train_pairs: int | None = None


@dataclass
class RunInfo(_Record):
    """What reproduces a run: versions, git commit, the tokenizer's sha256, command, data."""

    FILE: ClassVar[str] = "run_info.json"

    package_version: str | None = None
    torch_version: str | None = None
    transformers_version: str | None = None
    python_version: str | None = None
    git_commit: str | None = None
    tokenizer_sha256: str | None = None
    command: str | None = None  # the Hub token masked
    data: DataInfo = field(default_factory=DataInfo)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, value, *, strict: bool = True) -> RunInfo:
        values = _object(value, cls.FILE)
        data = _object(values.get("data") or {}, f"{cls.FILE} data")
        values["data"] = _build(DataInfo, data, strict, f"{cls.FILE} data")
        return _build(cls, values, strict, cls.FILE)


@dataclass
class SplitScores:
    """One split's scores: sacreBLEU's BLEU and chrF (0-100) with their signatures, and the
    loss. Stored flat under a prefix: "eval_bleu", "test_chrf_signature", ..."""

    bleu: float | None = None
    chrf: float | None = None
    loss: float | None = None
    bleu_signature: str | None = None
    chrf_signature: str | None = None

    def to_json(self, prefix: str) -> dict:
        return {f"{prefix}_{key}": value for key, value in _without_none(vars(self)).items()}

    @classmethod
    def take_from(cls, values: dict, prefix: str) -> SplitScores | None:
        """The scores stored under `prefix` in `values`, removed from it; None where none are."""
        names = [item.name for item in dataclasses.fields(cls)]
        found = {
            name: values.pop(f"{prefix}_{name}") for name in names if f"{prefix}_{name}" in values
        }
        return cls(**found) if found else None


def _scores_json(scores: SplitScores | None, prefix: str) -> dict:
    return scores.to_json(prefix) if scores else {}


@dataclass
class SourceScores:
    """The test scores of the pairs from one data source."""

    pairs: int
    bleu: float
    chrf: float


@dataclass
class Averaging:
    """`--average_checkpoints`: the evaluated steps averaged (none where fewer than two were
    kept), whether the average became the model, and its validation scores ("eval_*")."""

    steps: list[int] = field(default_factory=list)
    kept: bool = False
    validation: SplitScores | None = None

    def to_json(self) -> dict:
        return {"steps": self.steps, "kept": self.kept, **_scores_json(self.validation, "eval")}

    @classmethod
    def from_json(cls, value, *, strict: bool = True) -> Averaging:
        values = _object(value, "averaging")
        values["validation"] = SplitScores.take_from(values, "eval")
        return _build(cls, values, strict, "averaging")


@dataclass
class Results(_Record):
    """A run's summary: training, the kept model's validation scores ("eval_*"), its test
    scores ("test_*", with --do_predict) and checkpoint averaging. Fields that do not apply to
    the run are None (or empty) and left out of the file.

    num_beams: the beam size the test split was decoded with.
    best_step: the step of the kept model (of the average, where that was kept).
    averaged_steps: the steps whose weights were averaged into the kept model.
    test_by_source: test scores per data source, where the test pairs name their source.
    """

    FILE: ClassVar[str] = "all_results.json"

    train_loss: float | None = None
    train_steps: int | None = None
    epochs: float | None = None
    train_runtime_s: float | None = None
    train_target_tokens_per_s: float | None = None
    num_beams: int | None = None
    best_step: int | None = None
    averaged_steps: list[int] | None = None
    validation: SplitScores | None = None
    test: SplitScores | None = None
    test_by_source: dict[str, SourceScores] = field(default_factory=dict)
    averaging: Averaging | None = None

    def scored_splits(self) -> dict[str, SplitScores]:
        """{"validation": ..., "test": ...}: the scores of each split that was scored."""
        splits = {"validation": self.validation, "test": self.test}
        return {split: scores for split, scores in splits.items() if scores is not None}

    def to_json(self) -> dict:
        values = {
            **vars(self),
            "validation": None,
            "test": None,
            "test_by_source": {
                source: vars(scores) for source, scores in self.test_by_source.items()
            }
            or None,
            "averaging": self.averaging.to_json() if self.averaging else None,
        }
        return {
            **_without_none(values),
            **_scores_json(self.validation, "eval"),
            **_scores_json(self.test, "test"),
        }

    @classmethod
    def from_json(cls, value, *, strict: bool = True) -> Results:
        values = _object(value, cls.FILE)
        values["validation"] = SplitScores.take_from(values, "eval")
        values["test"] = SplitScores.take_from(values, "test")
        values["test_by_source"] = {
            source: _build(SourceScores, _object(scores, source), strict, source)
            for source, scores in (values.get("test_by_source") or {}).items()
        }
        if values.get("averaging") is not None:
            values["averaging"] = Averaging.from_json(values["averaging"], strict=strict)
        return _build(cls, values, strict, cls.FILE)


@dataclass
class LogEntry:
    """One entry of the log: a training entry holds the mean loss since the previous one, the
    teacher-forcing ratio and the learning rate; an evaluation entry the validation scores."""

    step: int
    epoch: int | None = None
    loss: float | None = None
    teacher_forcing_ratio: float | None = None
    learning_rate: float | None = None
    validation: SplitScores | None = None

    def to_json(self) -> dict:
        values = _without_none({**vars(self), "validation": None})
        return {**values, **_scores_json(self.validation, "eval")}

    @classmethod
    def from_json(cls, value, *, strict: bool = True) -> LogEntry:
        values = _object(value, "log entry")
        values["validation"] = SplitScores.take_from(values, "eval")
        return _build(cls, values, strict, "log entry")


@dataclass
class LogHistory(_Record):
    """The log in order of steps, stored as a JSON list (train.py's `TrainingState.history`)."""

    FILE: ClassVar[str] = "log_history.json"

    entries: list[LogEntry] = field(default_factory=list)

    def to_json(self) -> list:
        return [entry.to_json() for entry in self.entries]

    @classmethod
    def from_json(cls, value, *, strict: bool = True) -> LogHistory:
        if not isinstance(value, list):
            raise ValueError(f"{cls.FILE} must be a JSON list, got {type(value).__name__}")
        return cls([LogEntry.from_json(entry, strict=strict) for entry in value])
