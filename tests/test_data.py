"""load_parallel_corpus: every layout, counted drops, clear errors, leak-free seeded splits."""

import json
import logging
import re

import openpyxl
import pytest

from hf_seq2seq_lstm.data import (
    builtin_corpus_dir,
    builtin_corpus_files,
    builtin_corpus_license,
    load_parallel_corpus,
)

XLSX_FIXTURE = "aihub-format/1_구어체(1).xlsx"
JSON_FIXTURE = "aihub-format/sample.json"


def read_tsv_rows(path):
    """(ko, en) of every data row, split by hand: the ground truth the loader must match."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t")[:2]) for line in lines]


def write_xlsx(path, header, rows):
    write_workbook(path, {"Sheet": [header, *rows]})


def write_workbook(path, sheets):
    """An .xlsx with one sheet per {title: rows} entry, in order (rows may be empty)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


def dropped_counts(caplog):
    """{reason: count} from the loader's one-line-per-reason log records."""
    counts = {}
    for record in caplog.records:
        match = re.search(r"dropped (\d+) of \d+ pairs \((.+)\)", record.getMessage())
        if match:
            counts[match.group(2)] = counts.get(match.group(2), 0) + int(match.group(1))
    return counts


@pytest.fixture(scope="module")
def train_rows(shared_data):
    return read_tsv_rows(shared_data / "koen" / "train.tsv")


def test_aihub_xlsx_fixture_loads_all_rows_in_order(shared_data, train_rows):
    corpus = load_parallel_corpus(shared_data / XLSX_FIXTURE, validation_split=0)
    train = corpus["train"]
    assert list(corpus) == ["train"]
    assert train.column_names == ["ko", "en", "source"]
    assert len(train) == 200
    assert (train[0]["ko"], train[0]["en"]) == train_rows[0]
    assert (train[-1]["ko"], train[-1]["en"]) == train_rows[199]
    assert set(train["source"]) == {"1_구어체(1).xlsx"}


def test_aihub_json_and_json_lines_load_all_rows(shared_data, train_rows, tmp_path):
    corpus = load_parallel_corpus(shared_data / JSON_FIXTURE, validation_split=0)
    assert len(corpus["train"]) == 200
    assert (corpus["train"][0]["ko"], corpus["train"][0]["en"]) == train_rows[0]
    assert (corpus["train"][-1]["ko"], corpus["train"][-1]["en"]) == train_rows[199]

    records = json.loads((shared_data / JSON_FIXTURE).read_text(encoding="utf-8"))["data"]
    lines_path = tmp_path / "pairs.jsonl"
    lines_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    lines = load_parallel_corpus(lines_path, validation_split=0)["train"]
    assert lines["ko"] == corpus["train"]["ko"]
    assert lines["en"] == corpus["train"]["en"]


def test_several_spreadsheets_by_list_glob_and_folder(tmp_path, train_rows):
    folder = tmp_path / "aihub"
    folder.mkdir()
    header = ["SID", "대분류", "원문", "번역문"]
    write_xlsx(
        folder / "1_구어체(1).xlsx", header, [[i, "일상", *train_rows[i]] for i in range(30)]
    )
    write_xlsx(
        folder / "2_대화체.xlsx", header, [[i, "쇼핑", *train_rows[i]] for i in range(30, 50)]
    )
    expected = {tuple(pair) for pair in train_rows[:50]}

    for data_files in (
        sorted(folder.glob("*.xlsx")),
        str(folder / "*.xlsx"),
        folder,
    ):
        train = load_parallel_corpus(data_files, validation_split=0, num_proc=2)["train"]
        assert set(zip(train["ko"], train["en"], strict=True)) == expected
        assert set(train["source"]) == {"1_구어체(1).xlsx", "2_대화체.xlsx"}


def test_koen_tsvs_load_every_row_despite_leading_quotes(shared_data):
    koen = shared_data / "koen"
    corpus = load_parallel_corpus(
        {"train": koen / "train.tsv", "validation": koen / "valid.tsv", "test": koen / "test.tsv"}
    )
    assert {split: len(dataset) for split, dataset in corpus.items()} == {
        "train": 14_468,
        "validation": 1_000,
        "test": 1_000,
    }
    expected = read_tsv_rows(koen / "train.tsv")
    assert list(zip(corpus["train"]["ko"], corpus["train"]["en"], strict=True)) == expected
    assert any(ko.startswith('"') or en.startswith('"') for ko, en in expected)
    assert "tatoeba" in set(corpus["train"]["source"])  # the file's own provenance column kept


def test_folder_splits_follow_file_names(shared_data):
    corpus = load_parallel_corpus(shared_data / "koen")
    # tatoeba_attribution.tsv matches no split name, so it is not read as training data.
    assert {split: len(dataset) for split, dataset in corpus.items()} == {
        "train": 14_468,
        "validation": 1_000,
        "test": 1_000,
    }


def test_missing_column_names_file_and_found_columns(tmp_path):
    path = tmp_path / "renamed.tsv"
    path.write_text("korean\tenglish\n안녕.\tHi.\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"renamed\.tsv.*columns found: \['korean', 'english'\]"):
        load_parallel_corpus(path)
    corpus = load_parallel_corpus(path, ko_column="korean", en_column="english", validation_split=0)
    assert corpus["train"][0] == {"ko": "안녕.", "en": "Hi.", "source": "renamed.tsv"}


def test_spreadsheet_without_korean_header_names_file(tmp_path):
    path = tmp_path / "wrong.xlsx"
    write_xlsx(path, ["SID", "Korean", "English"], [[1, "안녕.", "Hi."]])
    with pytest.raises(ValueError, match=r"wrong\.xlsx.*columns found: \['SID', 'Korean'"):
        load_parallel_corpus(path)


def test_unreadable_file_error_names_the_file(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match=r"broken\.xlsx"):
        load_parallel_corpus(path)
    with pytest.raises(ValueError, match=r"notes\.docx.*supported"):
        (tmp_path / "notes.docx").write_text("x")
        load_parallel_corpus([tmp_path / "notes.docx"])
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        load_parallel_corpus(tmp_path / "nothing-here" / "*.tsv")


def test_bad_rows_are_dropped_and_counted(tmp_path, caplog):
    spreadsheet = tmp_path / "cells.xlsx"
    write_xlsx(
        spreadsheet,
        ["SID", "원문", "번역문"],
        [
            [1, "좋은 아침이에요.", "Good morning."],
            [2, None, "Empty Korean cell."],  # NaN cell
            [3, "영어 칸이 비었어요.", None],
            [4, "   ", "Whitespace-only Korean."],
            [5, "가" * 40, "Too long on the Korean side."],
            [6, "좋은 아침이에요.", "Good morning."],  # exact duplicate of row 1
            [7, " 좋은 아침이에요. ", "Good morning."],  # duplicate once stripped
            [8, 2024, 2024],  # numbers typed into cells are kept as text
        ],
    )
    delimited = tmp_path / "rows.csv"
    delimited.write_text('ko,en\n,empty field\n"따옴표,"quote\n', encoding="utf-8")
    caplog.set_level(logging.INFO, logger="hf_seq2seq_lstm.data")

    train = load_parallel_corpus([spreadsheet, delimited], validation_split=0, max_chars=30)[
        "train"
    ]

    assert list(zip(train["ko"], train["en"], strict=True)) == [
        ("좋은 아침이에요.", "Good morning."),
        ("2024", "2024"),
        ('"따옴표', '"quote'),
    ]
    assert dropped_counts(caplog) == {
        "empty, NaN or whitespace-only side": 4,
        "a side longer than max_chars=30": 1,
        "exact duplicate pair": 2,
    }  # reasons that dropped nothing are not logged


def test_text_pairs_load_and_halves_of_unequal_length_are_refused(tmp_path, caplog):
    (tmp_path / "good.ko").write_text("안녕.\n\n고마워.\n", encoding="utf-8")
    (tmp_path / "good.en").write_text("Hi.\nOrphan line.\nThanks.\n", encoding="utf-8")
    caplog.set_level(logging.INFO, logger="hf_seq2seq_lstm.data")

    train = load_parallel_corpus(tmp_path, validation_split=0)["train"]

    assert list(zip(train["ko"], train["en"], train["source"], strict=True)) == [
        ("안녕.", "Hi.", "good"),
        ("고마워.", "Thanks.", "good"),
    ]
    assert dropped_counts(caplog)["empty, NaN or whitespace-only side"] == 1

    (tmp_path / "shifted.ko").write_text("하나.\n둘.\n셋.\n", encoding="utf-8")
    (tmp_path / "shifted.en").write_text("One.\nThree.\n", encoding="utf-8")
    expected = f"{tmp_path / 'shifted.ko'} has 3 lines but {tmp_path / 'shifted.en'} has 2"
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_parallel_corpus(tmp_path)
    with pytest.raises(ValueError, match=re.escape(expected)):  # the halves named one by one
        load_parallel_corpus([tmp_path / "shifted.en", tmp_path / "shifted.ko"])

    (tmp_path / "lonely.ko").write_text("혼자.\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lonely\.en is missing"):
        load_parallel_corpus(tmp_path)


def test_every_sheet_with_the_columns_is_read_and_other_sheets_are_named(
    tmp_path, train_rows, caplog
):
    path = tmp_path / "two_sheets.xlsx"
    header = ["SID", "원문", "번역문"]
    write_workbook(
        path,
        {
            "1": [header, *([i, *train_rows[i]] for i in range(30))],
            "notes": [["작성자", "날짜"], ["홍길동", "2024-01-01"]],
            "2": [["번역문", "원문"], *([en, ko] for ko, en in train_rows[30:50])],  # reordered
            "empty": [],
        },
    )
    caplog.set_level(logging.INFO, logger="hf_seq2seq_lstm.data")

    train = load_parallel_corpus(path, validation_split=0)["train"]

    assert list(zip(train["ko"], train["en"], strict=True)) == train_rows[:50]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"{path} (sheet 'notes'): no column" in warnings[0]
    assert "columns found: ['작성자', '날짜']" in warnings[0]
    assert any("skipped empty sheets ['empty']" in r.getMessage() for r in caplog.records)

    unusable = tmp_path / "no_pairs.xlsx"
    write_workbook(unusable, {"notes": [["작성자"], ["홍길동"]], "more": [["SID", "Korean"]]})
    with pytest.raises(ValueError, match=r"no_pairs\.xlsx \(sheet 'notes'\): no column"):
        load_parallel_corpus(unusable)


@pytest.mark.parametrize(
    "name,content",
    [
        ("pairs.jsonl", ""),
        ("pairs.jsonl", "\n  \n"),
        ("pairs.json", ""),
        ("pairs.json", "[]"),
        ("pairs.json", '{"data": []}'),
        ("pairs.csv", ""),
        ("pairs.tsv", "\ufeff\n"),
        ("pairs.tsv", "ko\ten\n"),
        ("pairs.xlsx", []),
        ("pairs.xlsx", [["원문", "번역문"]]),
    ],
)
def test_an_empty_file_is_refused_by_name(name, content, tmp_path):
    path = tmp_path / name
    if name.endswith(".xlsx"):
        write_workbook(path, {"Sheet1": content, "Sheet2": []})
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))} is empty"):
        load_parallel_corpus([path], validation_split=0)


def test_an_empty_text_pair_half_is_refused_by_name(tmp_path):
    (tmp_path / "pairs.ko").write_text("안녕.\n", encoding="utf-8")
    (tmp_path / "pairs.en").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{re.escape(str(tmp_path / 'pairs.en'))} is empty$"):
        load_parallel_corpus(tmp_path)


def test_unreadable_lines_are_named_by_their_1_based_line_number(tmp_path):
    # Header = line 1, so the second data row is line 3.
    tsv = tmp_path / "bytes.tsv"
    tsv.write_bytes("ko\ten\n가\ta\n나\tb".encode() + b"\xff\n")
    with pytest.raises(ValueError, match=r"bytes\.tsv is not UTF-8: line 3 has the byte 0xff"):
        load_parallel_corpus(tsv)
    lines = tmp_path / "bytes.jsonl"
    lines.write_bytes(b'{"ko": "\xea\xb0\x80", "en": "a"}\n{"ko": "\xff", "en": "b"}\n')
    with pytest.raises(ValueError, match=r"bytes\.jsonl is not UTF-8: line 2 has the byte 0xff"):
        load_parallel_corpus(lines)

    broken = tmp_path / "broken.jsonl"
    records = ['{"ko": "가", "en": "a"}', '{"ko": "나", "en": "b"}', '{"ko": "다", "en": ']
    broken.write_text("\n".join(records) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.jsonl: line 3 is not valid JSON"):
        load_parallel_corpus(broken)
    document = tmp_path / "broken.json"
    document.write_text('{"data": [\n{"ko": "가", "en": "a"},\n{"ko": "나" "en": "b"}\n]}\n')
    with pytest.raises(ValueError, match=r"broken\.json: line 3: Expecting ','"):
        load_parallel_corpus(document)
    fields = tmp_path / "fields.csv"
    fields.write_text("ko,en\n가,a\n나,b,extra\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"fields\.csv: .*line 3"):  # pandas counts the same way
        load_parallel_corpus(fields)


def test_evaluation_splits_sharing_training_pairs_are_warned_about_with_the_count(tmp_path, caplog):
    rows = [f"문장 {i}.\tSentence {i}." for i in range(20)]
    train, validation, test = (tmp_path / f"{name}.tsv" for name in ("train", "dev", "test"))
    train.write_text("ko\ten\n" + "\n".join(rows[:15]) + "\n", encoding="utf-8")
    # Three training pairs plus one that shares only its Korean side (a different pair).
    validation.write_text(
        "ko\ten\n" + "\n".join([*rows[:3], "문장 3.\tAnother.", *rows[15:18]]) + "\n",
        encoding="utf-8",
    )
    test.write_text("ko\ten\n" + "\n".join(rows[18:]) + "\n", encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="hf_seq2seq_lstm.data")

    load_parallel_corpus({"train": train, "validation": validation, "test": test})

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("validation shares 3 of its 7 pairs with train")

    caplog.clear()  # the carved validation split shares nothing; the 3 pairs it took are
    load_parallel_corpus({"train": train, "test": train}, validation_split=3)  # not in train
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.split(" (")[0] for w in warnings] == ["test shares 12 of its 15 pairs with train"]


def write_hub_style_repo(root, train_rows):
    """A folder laid out like a Hub dataset repo: data files plus README YAML configs."""
    (root / "data").mkdir(parents=True)
    for split, rows in (("train", train_rows[:40]), ("validation", train_rows[40:50])):
        with open(root / "data" / f"{split}.jsonl", "w", encoding="utf-8") as file:
            for ko, en in rows:
                file.write(json.dumps({"korean": ko, "english": en}, ensure_ascii=False) + "\n")
        with open(root / "data" / f"translation-{split}.jsonl", "w", encoding="utf-8") as file:
            for ko, en in rows:
                record = {"translation": {"ko": ko, "en": en}}
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
    (root / "README.md").write_text(
        "---\n"
        "license: cc-by-sa-4.0\n"
        "configs:\n"
        "- config_name: spoken\n"
        "  data_files:\n"
        "  - split: train\n    path: data/train.jsonl\n"
        "  - split: validation\n    path: data/validation.jsonl\n"
        "- config_name: translation\n"
        "  data_files:\n"
        "  - split: train\n    path: data/translation-train.jsonl\n"
        "  - split: validation\n    path: data/translation-validation.jsonl\n"
        "---\n# A Korean-English test dataset\n",
        encoding="utf-8",
    )


def test_hub_dataset_name_loads_offline_through_load_dataset(tmp_path, train_rows):
    repo = tmp_path / "someone" / "koen-spoken"
    write_hub_style_repo(repo, train_rows)

    spoken = load_parallel_corpus(
        dataset_name=str(repo),
        dataset_config_name="spoken",
        ko_column="korean",
        en_column="english",
    )
    assert {split: len(dataset) for split, dataset in spoken.items()} == {
        "train": 40,
        "validation": 10,
    }
    assert (spoken["train"][0]["ko"], spoken["train"][0]["en"]) == train_rows[0]
    assert set(spoken["train"]["source"]) == {str(repo)}

    translation = load_parallel_corpus(dataset_name=str(repo), dataset_config_name="translation")
    assert translation["validation"]["ko"] == spoken["validation"]["ko"]
    assert translation["validation"]["en"] == spoken["validation"]["en"]


def test_held_out_split_is_seeded_and_leak_free(shared_data):
    train_file = shared_data / "koen" / "train.tsv"
    first = load_parallel_corpus(train_file, validation_split=0.1, test_split=300, seed=7)
    again = load_parallel_corpus(train_file, validation_split=0.1, test_split=300, seed=7)
    other = load_parallel_corpus(train_file, validation_split=0.1, test_split=300, seed=8)

    assert first["validation"]["ko"] == again["validation"]["ko"]
    assert first["test"]["en"] == again["test"]["en"]
    assert first["validation"]["ko"] != other["validation"]["ko"]
    assert 1_300 <= len(first["validation"]) <= 1_447
    assert 280 <= len(first["test"]) <= 300
    assert sum(len(split) for split in first.values()) == 14_468
    for side in ("ko", "en"):
        train_side = set(first["train"][side])
        for held_out in ("validation", "test"):
            assert not train_side & set(first[held_out][side]), f"{side} leaks into {held_out}"
    assert not set(first["validation"]["ko"]) & set(first["test"]["ko"])


def test_held_out_split_keeps_groups_sharing_a_sentence_together(tmp_path):
    # "네." links every pair below into one group, which must land whole on one side.
    rows = [f"네.\tAnswer {i}." for i in range(5)] + [f"문장 {i}.\tYes." for i in range(5)]
    rows += [f"문장 {i}.\tSentence {i}." for i in range(5, 60)]
    path = tmp_path / "linked.tsv"
    path.write_text("ko\ten\n" + "\n".join(rows) + "\n", encoding="utf-8")
    for seed in range(5):
        corpus = load_parallel_corpus(path, validation_split=0.3, seed=seed)
        for side in ("ko", "en"):
            assert not set(corpus["train"][side]) & set(corpus["validation"][side])


def test_the_sample_corpus_is_small_leak_free_and_licensed():
    corpus = load_parallel_corpus(builtin_corpus_files("sample"))
    assert {name: len(split) for name, split in corpus.items()} == {
        "train": 403,
        "validation": 38,
        "test": 33,
    }
    assert builtin_corpus_license("sample") == "CC-BY-4.0"
    assert "CC-BY-4.0" in (builtin_corpus_dir("sample") / "README.md").read_text()
    for side in ("ko", "en"):
        seen = [set(corpus[split][side]) for split in corpus]
        assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert all(re.search("[가-힣]", ko) for ko in corpus["train"]["ko"])
    assert all(re.search("[A-Za-z]", en) for en in corpus["train"]["en"])


def test_no_arguments_loads_the_built_in_koen_corpus_with_its_sources():
    corpus = load_parallel_corpus()
    counts = {name: len(split) for name, split in corpus.items()}
    assert counts == {"train": 14468, "validation": 1000, "test": 1000}
    assert list(corpus["train"].features) == ["ko", "en", "source"]
    assert set(corpus["test"]["source"]) == {
        "tatoeba", "tatoeba-laser", "koen-news", "nk-news", "jhe", "ntrex128", "ud-pud",
        "flores200",
    }  # fmt: skip
    folder = builtin_corpus_dir()
    assert builtin_corpus_license() == "CC-BY-SA-4.0"
    assert "CC-BY-SA-4.0" in (folder / "LICENSE").read_text()
    attribution = (folder / "tatoeba_attribution.tsv").read_text(encoding="utf-8").splitlines()
    tatoeba_rows = sum(
        source.startswith("tatoeba") for split in corpus.values() for source in split["source"]
    )
    assert len(attribution) - 1 == tatoeba_rows == 6197


def test_an_unknown_builtin_corpus_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="koen, sample"):
        builtin_corpus_files("aihub")
