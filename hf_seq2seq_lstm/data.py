"""Every Korean-English corpus layout we meet -> one `DatasetDict` with `ko`, `en`, `source`.

Layouts: AI Hub spreadsheets (`원문`/`번역문`, every sheet), AI Hub JSON (`{"data": [...]}`)
and JSON lines, CSV/TSV read without quote processing, aligned plain-text pairs (`x.ko` +
`x.en`), and Hub datasets through `datasets.load_dataset`. Every split is cleaned the same way
(NFC, strip, bad rows dropped and counted in the log, exact duplicate pairs dropped) and, when no
validation file is given, a seeded held-out split is carved in which no Korean or English string
appears on both sides; a given validation or test split that repeats training pairs is warned
about. All work happens on Arrow tables and numpy arrays, never on Python lists of the corpus.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import datasets
import numpy as np
from datasets.data_files import get_data_patterns, resolve_pattern

logger = logging.getLogger(__name__)

# The corpora shipped inside the package: name -> (folder, licence of the data).
# `koen`: 16,468 openly licensed pairs, the default; `sample`: 474 hand-written pairs for tests.
BUILTIN_CORPORA = {"koen": ("koen_data", "CC-BY-SA-4.0"), "sample": ("sample_data", "CC-BY-4.0")}
DEFAULT_BUILTIN_CORPUS = "koen"
BUILTIN_SPLITS = ("train", "validation", "test")

# Header names tried in order when the caller names no column; AI Hub's spreadsheets use 원문/번역문.
KO_COLUMN_CANDIDATES = ("ko", "원문")
EN_COLUMN_CANDIDATES = ("en", "번역문")

TEXT_PAIR_SUFFIXES = (".ko", ".en")
SUPPORTED_SUFFIXES = (".xlsx", ".json", ".jsonl", ".csv", ".tsv", *TEXT_PAIR_SUFFIXES)

# Groups of pairs linked by a shared sentence larger than this stay in training: one huge group
# (say every pair translating "네.") would otherwise fill most of a held-out split by itself.
MAX_HELD_OUT_GROUP_SIZE = 20

CORPUS_FEATURES = datasets.Features(
    {
        "ko": datasets.Value("string"),
        "en": datasets.Value("string"),
        "source": datasets.Value("string"),
    }
)
_CLEANING_FEATURES = datasets.Features(
    {
        **CORPUS_FEATURES,
        "drop_reason": datasets.Value("int8"),
        "ko_hash": datasets.Value("int64"),
        "en_hash": datasets.Value("int64"),
    }
)
_KEEP, _EMPTY, _OVERLONG = 0, 1, 2


def builtin_corpus_dir(name: str = DEFAULT_BUILTIN_CORPUS) -> Path:
    """Folder of a built-in corpus (`train.tsv`, `validation.tsv`, `test.tsv`, README, LICENSE)."""
    if name not in BUILTIN_CORPORA:
        raise ValueError(
            f"unknown built-in corpus {name!r}; choose one of {', '.join(BUILTIN_CORPORA)}"
        )
    return Path(__file__).resolve().parent / BUILTIN_CORPORA[name][0]


def builtin_corpus_license(name: str = DEFAULT_BUILTIN_CORPUS) -> str:
    """The licence identifier of a built-in corpus's data (e.g. `CC-BY-SA-4.0`)."""
    builtin_corpus_dir(name)  # validates the name
    return BUILTIN_CORPORA[name][1]


def builtin_corpus_files(name: str = DEFAULT_BUILTIN_CORPUS) -> dict[str, str]:
    """`data_files` of a built-in corpus for `load_parallel_corpus`: split -> TSV path."""
    folder = builtin_corpus_dir(name)
    return {split: str(folder / f"{split}.tsv") for split in BUILTIN_SPLITS}


def load_parallel_corpus(
    data_files: str | os.PathLike | Sequence | dict | None = None,
    dataset_name: str | None = None,
    dataset_config_name: str | None = None,
    ko_column: str | None = None,
    en_column: str | None = None,
    validation_split: float | int = 0.05,
    test_split: float | int = 0,
    seed: int = 42,
    max_chars: int | None = 300,
    num_proc: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> datasets.DatasetDict:
    """Load, clean and split a Korean-English parallel corpus.

    Args:
        data_files: a file, a list of files, a glob, a folder, or a dict of split name to any of
            those. A folder's files are assigned to splits by name as `datasets` does (`train*`,
            `valid*`/`dev*`, `test*`); a folder without such names is all training data.
            Text pairs are given as both halves (`x.ko` and `x.en`) or a folder holding them.
            Every sheet of a spreadsheet that has the columns is read; others are logged.
        dataset_name: a Hub dataset id (or a local folder laid out like a Hub dataset repo),
            loaded by `datasets.load_dataset(dataset_name, dataset_config_name)`.
        ko_column, en_column: source and target column names; by default the first present of
            `ko`/`원문` and `en`/`번역문`. A Hub-style `translation` column of
            `{"ko": ..., "en": ...}` dicts is also understood.
        validation_split, test_split: size of the held-out split carved from `train` when the
            data has no such split: a float is a fraction of the cleaned training pairs, an int a
            number of pairs, 0 carves nothing. Carving is seeded and leak-free.
        seed: seed of the held-out carving.
        max_chars: training pairs with a side longer than this many characters are dropped (None
            keeps all). Validation and test splits keep long and duplicate pairs, so scores are
            on the whole evaluation set; only empty sides are dropped there.
        num_proc: worker processes for reading spreadsheets and for the cleaning `map`.
        cache_dir: `datasets` cache folder (default: the `datasets` default).

    Returns:
        `DatasetDict` of splits with string columns `ko`, `en` and `source` (the original
        `source` column when the data has one, else the file name or dataset name).
        With neither `data_files` nor `dataset_name`, the built-in `koen` corpus (pass
        `builtin_corpus_files("sample")` for the 474-pair sample corpus).

    Raises:
        ValueError: a file lacks the columns (the message names the file and the columns it has),
            is empty, is not UTF-8 or cannot be read (naming the file and, where known, the
            1-based line), has an unsupported type; the halves of a text pair differ in line
            count; or a split ends up empty.
        FileNotFoundError: a path or glob matches nothing.

    A validation or test split sharing pairs (same ko and en) with train is logged as a warning
    with the count.
    """
    if data_files is None and dataset_name is None:
        data_files = builtin_corpus_files()
    cache_dir = None if cache_dir is None else str(cache_dir)

    if dataset_name is not None:
        raw_splits = _load_hub_dataset(
            dataset_name, dataset_config_name, data_files, ko_column, en_column, cache_dir
        )
    else:
        raw_splits = {
            split: _load_files(paths, ko_column, en_column, num_proc, cache_dir)
            for split, paths in _resolve_data_files(data_files).items()
        }

    corpus = datasets.DatasetDict()
    for split, dataset in raw_splits.items():
        # Evaluation splits keep long and repeated pairs: scores must be on the whole set.
        training = split == "train"
        corpus[split] = _clean_split(
            dataset, split, max_chars if training else None, num_proc, deduplicate=training
        )

    held_out_sizes = {}
    if "validation" not in corpus:
        held_out_sizes["validation"] = validation_split
    if "test" not in corpus:
        held_out_sizes["test"] = test_split
    held_out_sizes = {name: size for name, size in held_out_sizes.items() if size}
    if held_out_sizes:
        if "train" not in corpus:
            raise ValueError(f"cannot carve {sorted(held_out_sizes)} without a 'train' split")
        corpus.update(_carve_held_out(corpus["train"], held_out_sizes, seed))
    for split, dataset in corpus.items():
        if split != "train" and "train" in corpus:
            shared = _count_pairs_also_in(dataset, corpus["train"])
            if shared:
                logger.warning(
                    "%s shares %d of its %d pairs with train (same ko and en): scores on it "
                    "overstate how well the model translates unseen text",
                    split,
                    shared,
                    len(dataset),
                )
    corpus = corpus.select_columns(list(CORPUS_FEATURES))

    for split, dataset in corpus.items():
        if len(dataset) == 0:
            raise ValueError(f"split {split!r} has no pairs left after cleaning")
    return corpus


# --- finding files --------------------------------------------------------------------------


def _resolve_data_files(data_files) -> dict[str, list[Path]]:
    """Turn the `data_files` argument into split name -> sorted list of existing files."""
    if not isinstance(data_files, dict):
        data_files = _split_folder(data_files) or {"train": data_files}
    resolved = {}
    for split, patterns in data_files.items():
        if isinstance(patterns, (str, os.PathLike)):
            patterns = [patterns]
        paths = []
        for pattern in patterns:
            paths.extend(_expand_pattern(pattern))
        resolved[str(split)] = sorted(dict.fromkeys(paths))
    return resolved


def _split_folder(data_files) -> dict[str, list[str]] | None:
    """For a single folder, the files of each split named the way `datasets` names them."""
    if not isinstance(data_files, (str, os.PathLike)) or not Path(data_files).is_dir():
        return None
    folder = str(data_files)
    split_files = {}
    for split, patterns in get_data_patterns(folder).items():
        files = [
            path
            for pattern in patterns
            for path in _matching_files(pattern, folder)
            if Path(path).suffix in SUPPORTED_SUFFIXES
        ]
        if files:
            split_files[str(split)] = files
    return split_files


def _matching_files(pattern: str, base_path: str) -> list[str]:
    """`datasets`' own glob resolution (skips hidden files), but [] when nothing matches."""
    try:
        return resolve_pattern(pattern, base_path)
    except FileNotFoundError:
        return []


def _expand_pattern(pattern) -> list[Path]:
    """A file, a folder (every supported file below it) or a glob -> supported files."""
    path = Path(pattern)
    if path.is_file():
        return [path]
    if path.is_dir():
        matches = [Path(p) for p in _matching_files("**", str(path))]
    else:
        matches = [Path(p) for p in _matching_files(str(pattern), ".")]
    supported = [match for match in matches if match.suffix in SUPPORTED_SUFFIXES]
    if not supported:
        raise FileNotFoundError(
            f"no {'/'.join(SUPPORTED_SUFFIXES)} files found for {pattern!s} "
            f"(found: {[match.name for match in matches][:10]})"
        )
    return supported


# --- reading each layout --------------------------------------------------------------------


def _load_files(paths, ko_column, en_column, num_proc, cache_dir) -> datasets.Dataset:
    """Read one split's files into a Dataset(ko, en, source)."""
    spreadsheets = [path for path in paths if path.suffix == ".xlsx"]
    text_halves = [path for path in paths if path.suffix in TEXT_PAIR_SUFFIXES]
    unsupported = [path for path in paths if path.suffix not in SUPPORTED_SUFFIXES]
    if unsupported:
        raise ValueError(
            f"unsupported file type: {unsupported[0]} (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    for path in paths:
        if path.suffix != ".xlsx":
            _check_text_file(path)
    parts = []
    if spreadsheets:
        parts.append(_load_spreadsheets(spreadsheets, ko_column, en_column, num_proc, cache_dir))
    for path in paths:
        if path.suffix in (".csv", ".tsv"):
            parts.append(_load_delimited(path, ko_column, en_column, cache_dir))
        elif path.suffix in (".json", ".jsonl"):
            parts.append(_load_json(path, ko_column, en_column, cache_dir))
    for ko_path, en_path in _pair_text_halves(text_halves):
        parts.append(_load_text_pair(ko_path, en_path, cache_dir))
    return datasets.concatenate_datasets(parts)


def _load_spreadsheets(paths, ko_column, en_column, num_proc, cache_dir) -> datasets.Dataset:
    """AI Hub `.xlsx` files, streamed row by row; `num_proc` reads several files at once."""
    # Size and mtime go into the generator arguments so that an edited file is not served
    # from the `datasets` cache of its previous version; so does a digest of this module,
    # since `datasets` knows the generator by name only and would serve rows an older reader
    # cached (say, one that read the first sheet only).
    reader = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()
    stats = [os.stat(path) for path in paths]
    gen_kwargs = {
        "paths": [str(path) for path in paths],
        "versions": [f"{stat.st_size}-{stat.st_mtime_ns}-{reader}" for stat in stats],
        "ko_column": [ko_column] * len(paths),
        "en_column": [en_column] * len(paths),
    }
    try:
        return datasets.Dataset.from_generator(
            _iter_spreadsheet_rows,
            features=CORPUS_FEATURES,
            gen_kwargs=gen_kwargs,
            num_proc=min(num_proc or 1, len(paths)) if num_proc else None,
            cache_dir=cache_dir,
        )
    except datasets.exceptions.DatasetGenerationError as error:
        raise _root_cause(error) from error


def _iter_spreadsheet_rows(paths, versions, ko_column, en_column) -> Iterator[dict]:
    """Yield {"ko", "en", "source"} for every data row of every sheet holding the pair columns.

    Each sheet has its header in its first row (AI Hub's layout; a long corpus continues on
    further sheets). Sheets without the columns are skipped with a warning naming them, empty
    ones with an info line; a file where no sheet has the columns or no row has data is an error.
    """
    import openpyxl  # only spreadsheet users pay for the import

    for path, ko_name, en_name in zip(paths, ko_column, en_column, strict=True):
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as error:
            raise ValueError(f"cannot read spreadsheet {path}: {error}") from error
        try:
            source = Path(path).name
            several = len(workbook.worksheets) > 1
            used_sheets, data_rows, empty, unusable = 0, 0, [], []
            for sheet in workbook.worksheets:
                rows = sheet.iter_rows(values_only=True)
                header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
                if not any(header):
                    empty.append(sheet.title)
                    continue
                origin = f"{path} (sheet {sheet.title!r})" if several else path
                try:
                    ko_index = header.index(
                        _pick_column(header, ko_name, KO_COLUMN_CANDIDATES, origin)
                    )
                    en_index = header.index(
                        _pick_column(header, en_name, EN_COLUMN_CANDIDATES, origin)
                    )
                except ValueError as error:
                    unusable.append(error)
                    continue
                used_sheets += 1
                for row in rows:
                    data_rows += 1
                    yield {
                        "ko": _cell_text(row, ko_index),
                        "en": _cell_text(row, en_index),
                        "source": source,
                    }
        finally:
            workbook.close()
        if not used_sheets:
            raise unusable[0] if unusable else ValueError(f"{path} is empty: no sheet has rows")
        if not data_rows:
            raise ValueError(f"{path} is empty: its sheets have a header but no rows")
        for error in unusable:
            logger.warning("skipped a sheet without the pair columns: %s", error)
        if empty:
            logger.info("%s: skipped empty sheets %s", path, empty)


def _cell_text(row: tuple, index: int) -> str | None:
    """A spreadsheet cell as text; numbers typed into the sheet become their usual spelling."""
    value = row[index] if index < len(row) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _load_delimited(path: Path, ko_column, en_column, cache_dir) -> datasets.Dataset:
    """CSV/TSV with a header row, read with quoting off: fields may start with a `"`."""
    return _load_with_builder(
        "csv",
        path,
        ko_column,
        en_column,
        cache_dir,
        sep="\t" if path.suffix == ".tsv" else ",",
        quoting=csv.QUOTE_NONE,
        # An empty field stays "" (dropped later as empty) and "NA" stays the text "NA".
        keep_default_na=False,
    )


def _load_json(path: Path, ko_column, en_column, cache_dir) -> datasets.Dataset:
    """AI Hub JSON (`{"data": [...]}`), a JSON array, or JSON lines."""
    field = "data" if path.suffix == ".json" and _is_data_document(path) else None
    return _load_with_builder("json", path, ko_column, en_column, cache_dir, field=field)


def _is_data_document(path: Path) -> bool:
    """True when the file is one JSON object holding the rows under "data" (AI Hub's layout).

    JSON lines have a complete object on the first line; AI Hub's documents do not, or are
    a single line whose object has a "data" list.
    """
    with open(path, encoding="utf-8-sig") as file:
        first_line = file.readline(1 << 16).strip()
    if first_line.startswith("["):
        return False
    try:
        first_object = json.loads(first_line)
    except json.JSONDecodeError:
        return True
    return isinstance(first_object, dict) and isinstance(first_object.get("data"), list)


def _load_with_builder(builder, path: Path, ko_column, en_column, cache_dir, **config):
    """Read one file with a packaged `datasets` builder and map it onto (ko, en, source)."""
    try:
        reader = datasets.load_dataset_builder(
            builder, data_files=[str(path)], cache_dir=cache_dir, **config
        )
        reader.download_and_prepare()
    except Exception as error:
        where = _json_error_line(path, config.get("field")) if builder == "json" else None
        raise ValueError(f"cannot read {path}: {where or _root_cause(error)}") from error
    # Asked for a split without rows, `datasets` answers "Instruction ... corresponds to no data".
    if reader.info.splits["train"].num_examples == 0:
        raise ValueError(f"{path} is empty: it has no rows")
    dataset = reader.as_dataset(split="train")
    return _select_pair_columns(dataset, ko_column, en_column, path, default_source=path.name)


def _check_text_file(path: Path) -> None:
    """ValueError when a text file holds only whitespace, or names its first non-UTF-8 line.

    pyarrow's JSON reader lets invalid UTF-8 into string columns, where it fails much later
    without naming the file; the other readers only give a byte position.
    """
    lines_before, has_text = 0, False
    with open(path, "rb") as file:
        while chunk := file.read(1 << 24) + file.readline():  # whole lines only
            try:
                has_text = has_text or bool(chunk.decode("utf-8").lstrip("\ufeff").strip())
            except UnicodeDecodeError:
                for number, line in enumerate(chunk.split(b"\n"), start=lines_before + 1):
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError as error:
                        raise ValueError(
                            f"{path} is not UTF-8: line {number} has the byte "
                            f"{line[error.start]:#04x} at byte {error.start + 1} of the line"
                        ) from None
            lines_before += chunk.count(b"\n")
    if not has_text:
        raise ValueError(f"{path} is empty")


def _json_error_line(path: Path, field: str | None) -> str | None:
    """Where a JSON file stops parsing, as "line N: reason"; None when it parses.

    A document (AI Hub's `{"data": [...]}` or an array) is parsed whole; JSON lines line by line.
    """
    text = path.read_text(encoding="utf-8-sig")
    if field is not None or text.lstrip().startswith("["):
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            return f"line {error.lineno}: {error.msg}"
        return None
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                return f"line {number} is not valid JSON: {error.msg}"
    return None


def _pair_text_halves(paths: list[Path]) -> list[tuple[Path, Path]]:
    """Match every `x.ko` with its `x.en`; a half without its partner is an error."""
    halves = {(path.with_suffix(""), path.suffix): path for path in paths}
    stems = sorted({stem for stem, _ in halves})
    for stem in stems:
        for suffix in TEXT_PAIR_SUFFIXES:
            if (stem, suffix) not in halves:
                raise ValueError(f"{stem}{suffix} is missing: text pairs need both .ko and .en")
    return [(halves[stem, ".ko"], halves[stem, ".en"]) for stem in stems]


def _load_text_pair(ko_path: Path, en_path: Path, cache_dir) -> datasets.Dataset:
    """Two line-aligned text files (line i of one translates line i of the other) -> pairs.

    Files of unequal length are refused: once a line is missing, no line can be trusted to
    match its partner.
    """
    halves = {}
    for language, path in (("ko", ko_path), ("en", en_path)):
        try:
            text = datasets.load_dataset(
                "text", data_files=[str(path)], split="train", cache_dir=cache_dir
            )
        except Exception as error:
            raise ValueError(f"cannot read {path}: {_root_cause(error)}") from error
        halves[language] = text.rename_column("text", language)
    if len(halves["ko"]) != len(halves["en"]):
        raise ValueError(
            f"{ko_path} has {len(halves['ko'])} lines but {en_path} has {len(halves['en'])}: "
            "text pairs need one line per sentence in both files"
        )
    pair = datasets.concatenate_datasets([halves["ko"], halves["en"]], axis=1)
    source = ko_path.with_suffix("").name
    pair = pair.map(lambda batch: {"source": [source] * len(batch["ko"])}, batched=True)
    return pair.cast(CORPUS_FEATURES)


def _load_hub_dataset(name, config_name, data_files, ko_column, en_column, cache_dir):
    """A Hub dataset (or a local folder laid out as one) through `datasets.load_dataset`."""
    loaded = datasets.load_dataset(name, config_name, data_files=data_files, cache_dir=cache_dir)
    return {
        split: _select_pair_columns(dataset, ko_column, en_column, name, default_source=name)
        for split, dataset in loaded.items()
    }


def _select_pair_columns(dataset, ko_column, en_column, origin, default_source):
    """Rename the caller's columns to ko/en, keep or add `source`, drop everything else."""
    columns = dataset.column_names
    if ko_column is None and en_column is None and "translation" in columns:
        # Hub translation datasets (wmt, opus, ...) keep pairs as {"ko": ..., "en": ...}.
        dataset = dataset.flatten()
        columns = dataset.column_names
        ko_column, en_column = "translation.ko", "translation.en"
    ko_name = _pick_column(columns, ko_column, KO_COLUMN_CANDIDATES, origin)
    en_name = _pick_column(columns, en_column, EN_COLUMN_CANDIDATES, origin)
    has_source = "source" in columns and "source" not in (ko_name, en_name)

    def to_pair(batch):
        count = len(batch[ko_name])
        return {
            "ko": batch[ko_name],
            "en": batch[en_name],
            "source": batch["source"] if has_source else [default_source] * count,
        }

    # Cast to string first so that a column pandas read as numbers is kept as text.
    dataset = dataset.cast_column(ko_name, datasets.Value("string"))
    dataset = dataset.cast_column(en_name, datasets.Value("string"))
    return dataset.map(to_pair, batched=True, remove_columns=columns, features=CORPUS_FEATURES)


def _pick_column(columns: Sequence[str], wanted: str | None, candidates, origin) -> str:
    """The caller's column name if present, else the first candidate present; else ValueError."""
    options = (wanted,) if wanted is not None else candidates
    for name in options:
        if name in columns:
            return name
    raise ValueError(
        f"{origin}: no column {' or '.join(repr(name) for name in options)}; "
        f"columns found: {list(columns)}"
    )


def _root_cause(error: BaseException) -> BaseException:
    """The exception under `datasets`' generic "error while generating" wrappers."""
    while isinstance(error, datasets.exceptions.DatasetGenerationError) and error.__cause__:
        error = error.__cause__
    return error


# --- cleaning -------------------------------------------------------------------------------


def _normalise_batch(batch: dict, max_chars: int | None) -> dict:
    """NFC + strip both sides, give each row a drop reason and 64-bit hashes of both sides."""
    ko_texts, en_texts, reasons, ko_hashes, en_hashes = [], [], [], [], []
    for ko, en in zip(batch["ko"], batch["en"], strict=True):
        ko = unicodedata.normalize("NFC", ko).strip() if ko else ""
        en = unicodedata.normalize("NFC", en).strip() if en else ""
        if not ko or not en:
            reasons.append(_EMPTY)
        elif max_chars is not None and max(len(ko), len(en)) > max_chars:
            reasons.append(_OVERLONG)
        else:
            reasons.append(_KEEP)
        ko_texts.append(ko)
        en_texts.append(en)
        ko_hashes.append(_text_hash(ko))
        en_hashes.append(_text_hash(en))
    return {
        "ko": ko_texts,
        "en": en_texts,
        "source": batch["source"],
        "drop_reason": reasons,
        "ko_hash": ko_hashes,
        "en_hash": en_hashes,
    }


def _text_hash(text: str) -> int:
    """A stable signed 64-bit hash (Python's own `hash` changes between processes)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _clean_split(dataset, split, max_chars, num_proc, deduplicate=True) -> datasets.Dataset:
    """Normalise, drop bad (and duplicate) rows, logging one line per reason with its count.

    Returns ko, en, source plus the `ko_hash`/`en_hash` columns the held-out carving reuses.
    """
    dataset = dataset.map(
        _normalise_batch,
        batched=True,
        fn_kwargs={"max_chars": max_chars},
        features=_CLEANING_FEATURES,
        num_proc=num_proc,
        desc=f"Cleaning {split}",
    )
    reasons = _column_array(dataset, "drop_reason")
    valid = reasons == _KEEP
    ko_ids, en_ids = _sentence_ids(dataset)
    # A pair is a duplicate when an earlier valid row has the same (ko id, en id).
    pair_keys = ko_ids.astype(np.int64) * (int(en_ids.max(initial=0)) + 1) + en_ids
    valid_rows = np.flatnonzero(valid)
    kept_rows = valid_rows
    if deduplicate:
        _, first_positions = np.unique(pair_keys[valid_rows], return_index=True)
        kept_rows = np.sort(valid_rows[first_positions])

    total = len(dataset)
    counts = {
        "empty, NaN or whitespace-only side": int((reasons == _EMPTY).sum()),
        f"a side longer than max_chars={max_chars}": int((reasons == _OVERLONG).sum()),
        "exact duplicate pair": int(valid.sum()) - len(kept_rows),
    }
    for reason, count in counts.items():
        if count:
            logger.info("%s: dropped %d of %d pairs (%s)", split, count, total, reason)

    dataset = dataset.select(kept_rows).remove_columns("drop_reason")
    return dataset.flatten_indices(num_proc=num_proc)


def _sentence_ids(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of each row's Korean and English strings (equal strings, equal ids)."""
    _, ko_ids = np.unique(_column_array(dataset, "ko_hash"), return_inverse=True)
    _, en_ids = np.unique(_column_array(dataset, "en_hash"), return_inverse=True)
    return ko_ids.astype(np.int64), en_ids.astype(np.int64)


def _count_pairs_also_in(dataset, other) -> int:
    """How many rows of `dataset` have a (ko, en) pair that is also a row of `other`."""
    ko_hashes, en_hashes = (
        np.concatenate([_column_array(dataset, name), _column_array(other, name)])
        for name in ("ko_hash", "en_hash")
    )
    _, ko_ids = np.unique(ko_hashes, return_inverse=True)
    _, en_ids = np.unique(en_hashes, return_inverse=True)
    pair_keys = ko_ids.astype(np.int64) * (int(en_ids.max(initial=0)) + 1) + en_ids
    return int(np.isin(pair_keys[: len(dataset)], pair_keys[len(dataset) :]).sum())


def _column_array(dataset, name: str) -> np.ndarray:
    """One numeric column as a numpy array, read as a whole Arrow column (not row by row)."""
    return dataset.select_columns([name]).with_format("arrow")[:][name].to_numpy()


# --- leak-free held-out splits --------------------------------------------------------------


def _carve_held_out(train, sizes: dict, seed: int) -> dict[str, datasets.Dataset]:
    """Split `train` into train + held-out splits of the given sizes, leak-free and seeded.

    Pairs sharing a Korean or an English string are joined into one group, groups are shuffled
    with `seed` and assigned whole, so no string is on both sides of a split boundary.
    Held-out splits come out at most the requested size (whole groups do not always fit).
    """
    ko_ids, en_ids = _sentence_ids(train)
    groups = _connected_groups(ko_ids, en_ids + ko_ids.max(initial=-1) + 1)
    _, row_groups = np.unique(groups, return_inverse=True)
    group_sizes = np.bincount(row_groups)

    order = np.random.default_rng(seed).permutation(len(group_sizes))
    eligible_sizes = np.where(group_sizes[order] <= MAX_HELD_OUT_GROUP_SIZE, group_sizes[order], 0)
    filled = np.cumsum(eligible_sizes)
    group_split = np.full(len(group_sizes), -1)  # -1: stays in train
    start = 0
    for split_index, size in enumerate(sizes.values()):
        target = int(round(size * len(train))) if isinstance(size, float) else int(size)
        chosen = (eligible_sizes > 0) & (filled > start) & (filled <= start + target)
        group_split[order[chosen]] = split_index
        start = filled[chosen][-1] if chosen.any() else start

    row_split = group_split[row_groups]
    carved = {"train": train.select(np.flatnonzero(row_split == -1)).flatten_indices()}
    for split_index, name in enumerate(sizes):
        carved[name] = train.select(np.flatnonzero(row_split == split_index)).flatten_indices()
        logger.info("carved %d %s pairs from train (seed %d)", len(carved[name]), name, seed)
    return carved


def _connected_groups(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label of each edge (left[i], right[i]) of an undirected graph.

    Vectorised hooking and pointer jumping: every round links the roots of each edge's ends to
    the smaller of the two, then flattens the trees; it stops when every edge's ends agree.
    """
    parent = np.arange(int(max(left.max(initial=0), right.max(initial=0))) + 1)
    while True:
        left_root, right_root = parent[left], parent[right]
        if np.array_equal(left_root, right_root):
            return left_root
        lower = np.minimum(left_root, right_root)
        np.minimum.at(parent, left_root, lower)
        np.minimum.at(parent, right_root, lower)
        while True:
            grandparent = parent[parent]
            if np.array_equal(grandparent, parent):
                break
            parent = grandparent
