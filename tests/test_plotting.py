"""Attention heatmaps render Korean with a real font, offline; training curves are written as PNG."""

import struct
import warnings

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.image import imread

from hf_seq2seq_lstm import plotting, train_bpe_tokenizer
from hf_seq2seq_lstm.run_records import LogEntry

SOURCE_TOKENS = ["▁나는", "▁매일", "▁학교", "에", "▁갑니다", ".", "</s>"]
TARGET_TOKENS = ["▁I", "▁go", "▁to", "▁school", "▁every", "▁day", ".", "</s>"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from the PNG header, after checking the signature."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE
    return struct.unpack(">II", header[16:24])


def missing_glyph_warnings(records) -> list[str]:
    return [str(r.message) for r in records if "missing from font" in str(r.message)]


def attention_weights(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(len(SOURCE_TOKENS)), size=len(TARGET_TOKENS))


@pytest.fixture
def no_korean_font(monkeypatch):
    """Pretend neither koreanize-matplotlib nor fonts-nanum is installed."""
    monkeypatch.setattr(plotting, "korean_font_path", lambda: None)
    plotting.korean_font_family.cache_clear()
    yield
    plotting.korean_font_family.cache_clear()


def test_bundled_korean_font_has_hangul_glyphs():
    path = plotting.korean_font_path()
    assert path is not None, "install koreanize-matplotlib (or Debian fonts-nanum)"
    font = FT2Font(str(path))
    for character in "한국어번역나는학교":
        assert font.get_char_index(ord(character)) != 0, character
    assert plotting.korean_font_family() == "NanumGothic"


def test_attention_heatmap_is_a_png_sized_to_the_sentence_without_missing_glyphs(tmp_path):
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        written = plotting.plot_attention(
            attention_weights(),
            SOURCE_TOKENS,
            TARGET_TOKENS,
            tmp_path / "nested" / "attention.png",
            title="나는 매일 학교에 갑니다.",
        )
    assert missing_glyph_warnings(records) == []
    assert written == tmp_path / "nested" / "attention.png"
    # Size grows with the token counts: (4 + 0.45 * 7) x (3 + 0.35 * 8) inches at 100 dpi.
    assert png_size(written) == (715, 580)
    pixels = imread(written)
    assert pixels.std() > 0.05  # not a blank canvas


def test_missing_glyph_check_does_catch_tofu():
    # The check above is only worth something if drawing Hangul in a Latin font trips it.
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            figure = Figure()
            figure.text(0.5, 0.5, "한국어")
            FigureCanvasAgg(figure).draw()
    assert missing_glyph_warnings(records)


def test_attention_accepts_a_torch_tensor_with_a_batch_dimension(tmp_path):
    weights = torch.from_numpy(attention_weights()).float().unsqueeze(0)
    written = plotting.plot_attention(weights, SOURCE_TOKENS, TARGET_TOKENS, tmp_path / "a.png")
    assert png_size(written) == (715, 580)


def test_attention_rejects_weights_that_do_not_match_the_tokens(tmp_path):
    with pytest.raises(ValueError, match="weights"):
        plotting.plot_attention(
            attention_weights().T, SOURCE_TOKENS, TARGET_TOKENS, tmp_path / "a.png"
        )


def test_plotting_leaves_global_matplotlib_settings_alone(tmp_path):
    family_before = list(matplotlib.rcParams["font.family"])
    backend_before = matplotlib.get_backend()
    plotting.plot_attention(attention_weights(), SOURCE_TOKENS, TARGET_TOKENS, tmp_path / "a.png")
    assert list(matplotlib.rcParams["font.family"]) == family_before
    assert matplotlib.get_backend() == backend_before


def test_without_a_korean_font_it_warns_once_and_still_draws(tmp_path, no_korean_font):
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for name in ("a.png", "b.png"):
            plotting.plot_attention(
                attention_weights(), SOURCE_TOKENS, TARGET_TOKENS, tmp_path / name
            )
    font_warnings = [r for r in records if "No Korean font" in str(r.message)]
    assert len(font_warnings) == 1
    assert "koreanize-matplotlib" in str(font_warnings[0].message)
    assert png_size(tmp_path / "b.png") == (715, 580)


def test_heatmap_labels_spell_byte_pieces_as_characters_without_the_word_marker(tmp_path):
    tokenizer = train_bpe_tokenizer(
        ["나는 밥을 먹어요.", "I eat rice."] * 3, vocab_size=300, min_frequency=1
    )
    # 뷁 and é were never seen: the tokenizer spells them in UTF-8 byte pieces.
    source = tokenizer.convert_ids_to_tokens(tokenizer("나는 뷁을 먹어요.")["input_ids"])
    target = tokenizer.convert_ids_to_tokens(tokenizer(text_target="I eat rice café.")["input_ids"])
    assert ["<0xEB>", "<0xB7>", "<0x81>"] == source[source.index("<0xEB>") :][:3]
    assert ["<0xC3>", "<0xA9>"] == target[target.index("<0xC3>") :][:2]
    weights = np.random.default_rng(0).dirichlet(np.ones(len(source)), size=len(target))

    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        plotting.plot_attention(weights, source, target, tmp_path / "attention.png")
    assert missing_glyph_warnings(records) == []
    axes = plotting.attention_figure(weights, source, target).axes[0]
    source_labels = [label.get_text() for label in axes.get_xticklabels()]
    target_labels = [label.get_text() for label in axes.get_yticklabels()]
    # Read in order, the labels spell the sentence (less its spaces; a piece that is only the
    # word marker, here before 뷁, shows as ␣), one label per character the vocabulary lacks,
    # and no marker or byte piece is left.
    assert "".join(source_labels).replace("␣", "") == "나는뷁을먹어요.</s>"
    assert "".join(target_labels).replace("␣", "") == "Ieatricecafé.</s>"
    assert "뷁" in source_labels and "é" in target_labels
    assert not any("▁" in label or "<0x" in label for label in source_labels + target_labels)

    merged = axes.images[0].get_array()
    assert merged.shape == (len(target_labels), len(source_labels))
    np.testing.assert_allclose(merged.sum(axis=1), 1.0)  # still a distribution per output token
    # 뷁's column: the attention its three bytes received; é's row: its two rows' mean.
    column = source.index("<0xEB>")
    row = target.index("<0xC3>")
    expected = weights[row : row + 2, column : column + 3].sum(axis=1).mean()
    assert merged[target_labels.index("é"), source_labels.index("뷁")] == pytest.approx(expected)


def test_a_word_marker_alone_is_labelled_as_a_visible_space_and_a_cut_character_as_a_mark():
    weights = np.full((2, 4), 0.25)
    axes = plotting.attention_figure(
        weights, ["▁", "1", "<0xEB>", "<0xB7>"], ["▁one", "</s>"]
    ).axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["␣", "1", "�"]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["one", "</s>"]


def log_history(records: list[dict]) -> list[LogEntry]:
    """`records` as train.py's log_history.json holds them, as the plot reads them."""
    return [LogEntry.from_json(record) for record in records]


def training_history(with_evaluation: bool) -> list[dict]:
    history = []
    for step in range(0, 501, 10):
        record = {
            "step": step,
            "loss": 4.0 / (1 + step / 100),
            "teacher_forcing_ratio": 1 - step / 1000,
        }
        if with_evaluation and step % 100 == 0:
            record.update(eval_bleu=step / 25, eval_chrf=step / 15, eval_loss=record["loss"] + 0.2)
        history.append(record)
    return history


@pytest.mark.parametrize("with_evaluation", [True, False])
def test_training_curves_are_written_as_a_png(tmp_path, with_evaluation):
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        written = plotting.plot_training_curves(
            log_history(training_history(with_evaluation)), tmp_path / "training_curves.png"
        )
    assert missing_glyph_warnings(records) == []
    assert png_size(written) == (800, 900)
    assert imread(written).std() > 0.05


def test_validation_scores_recorded_by_train_py_are_drawn(tmp_path):
    history = training_history(with_evaluation=True)
    for record in history:
        record.pop("eval_loss", None)  # train.py records BLEU and chrF only
    without_scores = [
        {key: value for key, value in record.items() if not key.startswith("eval_")}
        for record in history
    ]
    drawn = imread(plotting.plot_training_curves(log_history(history), tmp_path / "scores.png"))
    empty = imread(
        plotting.plot_training_curves(log_history(without_scores), tmp_path / "empty.png")
    )
    assert abs(drawn - empty).max() > 0.5  # the score panel has lines, not "no evaluation yet"


def test_training_curves_refuse_an_empty_history(tmp_path):
    with pytest.raises(ValueError, match="history"):
        plotting.plot_training_curves([], tmp_path / "curves.png")


def test_curves_mark_the_kept_step_and_drop_a_constant_teacher_forcing_panel():
    constant = [
        {"step": s, "loss": 5 - s / 50, "teacher_forcing_ratio": 1.0} for s in range(1, 101)
    ]
    constant += [{"step": s, "eval_chrf": s / 10} for s in (50, 100)]
    figure = plotting.training_curves_figure(log_history(constant), selected_step=50)
    assert len(figure.axes) == 2  # loss and scores: a ratio that never moved says nothing
    for axes in figure.axes:
        marks = [line for line in axes.lines if line.get_label() == "kept model (step 50)"]
        assert len(marks) == 1 and list(marks[0].get_xdata()) == [50, 50]
    decaying = [
        {**r, "teacher_forcing_ratio": 1 - r["step"] / 200} for r in constant if "loss" in r
    ]
    figure = plotting.training_curves_figure(log_history(decaying))
    assert len(figure.axes) == 3
    assert not any("kept model" in line.get_label() for a in figure.axes for line in a.lines)


def test_validation_curves_draw_one_line_per_evaluated_run(tmp_path):
    evaluated = training_history(with_evaluation=True)
    faster = [
        {**r, "eval_chrf": r["eval_chrf"] * 1.2} if "eval_chrf" in r else r for r in evaluated
    ]
    histories = {
        "luong": log_history(evaluated),
        "gru": log_history(faster),
        "never evaluated": log_history(training_history(with_evaluation=False)),
    }
    figure = plotting.validation_curves_figure(histories)
    lines = {line.get_label(): line for line in figure.axes[0].lines}
    assert set(lines) == {"luong", "gru"}
    assert list(lines["gru"].get_xdata()) == list(range(0, 501, 100))
    assert list(lines["gru"].get_ydata()) == [r["eval_chrf"] for r in faster if "eval_chrf" in r]
    written = plotting.plot_validation_curves(histories, tmp_path / "curves.png")
    assert png_size(written) == (800, 450)
    with pytest.raises(ValueError, match="no run has a validation chrF"):
        plotting.validation_curves_figure({"never evaluated": histories["never evaluated"]})
