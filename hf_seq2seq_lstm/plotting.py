"""Attention heatmaps and training curves as PNG files, drawn offline without a display.

Korean needs a font with Hangul: the NanumGothic file shipped inside the `koreanize-matplotlib`
wheel (PyPI), else Debian's `fonts-nanum`. The file is registered with matplotlib by path, so no
system font cache or network is involved. The figures are drawn on Agg canvases directly rather
than through pyplot, so importing this module changes no global backend or rcParams.
"""

import functools
import importlib.util
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .run_records import LogEntry

KOREAN_FONT_FILE = "NanumGothic.ttf"
# Where `apt-get install fonts-nanum` puts the same font.
DEBIAN_KOREAN_FONT = Path("/usr/share/fonts/truetype/nanum") / KOREAN_FONT_FILE
# Tried glyph by glyph after the Korean font: subword markers such as "▁" are not in NanumGothic.
FALLBACK_FONT_FAMILY = "DejaVu Sans"
DPI = 100
# A byte-fallback piece: one UTF-8 byte of a character the vocabulary lacks, e.g. "<0xEB>".
BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
WORD_START = "▁"
# The label of a piece that is only the word-start marker (e.g. before a digit).
VISIBLE_SPACE = "␣"


def korean_font_path() -> Path | None:
    """Path of a Hangul-capable TTF from `koreanize-matplotlib` or `fonts-nanum`, or None."""
    candidates = []
    # find_spec locates the package without importing it: its import rewrites global rcParams.
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.submodule_search_locations:
        candidates += [
            Path(p) / "fonts" / KOREAN_FONT_FILE for p in spec.submodule_search_locations
        ]
    candidates.append(DEBIAN_KOREAN_FONT)
    return next((path for path in candidates if path.is_file()), None)


@functools.cache
def korean_font_family() -> str | None:
    """Register the Korean font with matplotlib once and return its family name.

    Returns None, with a single warning per process, when no Korean font is installed.
    """
    path = korean_font_path()
    if path is None:
        warnings.warn(
            "No Korean font found, so Hangul will render as empty boxes. Install one with "
            "`pip install koreanize-matplotlib` or `apt-get install fonts-nanum`.",
            stacklevel=2,
        )
        return None
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def _font_families() -> list[str]:
    korean = korean_font_family()
    return [korean, FALLBACK_FONT_FAMILY] if korean else [FALLBACK_FONT_FAMILY]


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, format="png")
    return path


def plot_attention(
    weights,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Draw cross-attention weights as a heatmap PNG: output tokens down, source tokens across.

    `weights` is (target_len, source_len), a NumPy array or torch tensor; leading dimensions of
    size 1 (batch, heads) are dropped. Tokens are the tokenizer's pieces, one per row/column
    (`convert_ids_to_tokens`); the labels are made readable by `readable_pieces`. Returns the
    path written.
    """
    with matplotlib.rc_context({"font.family": _font_families(), "axes.unicode_minus": False}):
        return _save(attention_figure(weights, source_tokens, target_tokens, title), path)


def attention_figure(
    weights, source_tokens: Sequence[str], target_tokens: Sequence[str], title: str | None = None
) -> Figure:
    """The figure `plot_attention` saves (see there)."""
    if hasattr(weights, "detach"):
        weights = weights.detach().float().cpu().numpy()
    weights = np.asarray(weights, dtype=np.float64)
    while weights.ndim > 2 and weights.shape[0] == 1:
        weights = weights[0]
    expected = (len(target_tokens), len(source_tokens))
    if weights.shape != expected:
        raise ValueError(
            f"weights: shape {weights.shape} does not match (len(target_tokens), "
            f"len(source_tokens)) = {expected}"
        )
    weights, source_labels, target_labels = readable_pieces(weights, source_tokens, target_tokens)

    # Grow with the sentence so that every token label stays legible.
    width = min(4.0 + 0.45 * len(source_labels), 30.0)
    height = min(3.0 + 0.35 * len(target_labels), 30.0)
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
    figure.colorbar(image, ax=axes, label="attention weight")
    # Source tokens along the top, read left to right like the sentence.
    axes.tick_params(axis="x", top=True, bottom=False, labeltop=True, labelbottom=False)
    axes.set_xticks(
        range(len(source_labels)),
        labels=source_labels,
        rotation=45,
        ha="left",
        rotation_mode="anchor",
    )
    axes.set_yticks(range(len(target_labels)), labels=target_labels)
    axes.xaxis.set_label_position("top")
    axes.set_xlabel("source tokens")
    axes.set_ylabel("output tokens")
    if title:
        axes.set_title(title)
    return figure


def readable_pieces(
    weights: np.ndarray, source_tokens: Sequence[str], target_tokens: Sequence[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    """Weights and labels with each character spelled in byte pieces as one token.

    A character the vocabulary lacks comes as byte pieces, e.g. 뷁 as `<0xEB> <0xB7> <0x81>`:
    they become one label "뷁". Its source columns are summed (the attention the character
    received) and its target rows averaged (each row stays a distribution over the source), so
    every row still sums to what it summed to before. The word-start marker "▁" is dropped; a
    piece that is only the marker is labelled "␣".

    Args:
        weights: (target_len, source_len) attention, one row per target piece.
        source_tokens / target_tokens: the pieces, one per column / row.

    Returns:
        (weights (target_labels, source_labels), source labels, target labels).
    """
    source_groups, source_labels = _merge_byte_pieces(source_tokens)
    target_groups, target_labels = _merge_byte_pieces(target_tokens)
    columns = np.stack([weights[:, group].sum(axis=1) for group in source_groups], axis=1)
    merged = np.stack([columns[group].mean(axis=0) for group in target_groups])
    return merged, source_labels, target_labels


def _merge_byte_pieces(tokens: Sequence[str]) -> tuple[list[list[int]], list[str]]:
    """The indices of the pieces behind each label, and the labels."""
    groups, spellings = [], []
    previous_was_byte = False
    for index, token in enumerate(tokens):
        byte = BYTE_PIECE.fullmatch(token)
        spelling = bytes([int(byte[1], 16)]) if byte else token.encode("utf-8")
        # A UTF-8 continuation byte (10xxxxxx) belongs to the character the bytes before began.
        if byte and previous_was_byte and 0x80 <= spelling[0] <= 0xBF:
            groups[-1].append(index)
            spellings[-1] += spelling
        else:
            groups.append([index])
            spellings.append(spelling)
        previous_was_byte = byte is not None
    # A character cut short (a truncated output) shows as "�" rather than failing.
    texts = [spelling.decode("utf-8", errors="replace") for spelling in spellings]
    return groups, [text.replace(WORD_START, "") or VISIBLE_SPACE for text in texts]


def plot_training_curves(
    history: Sequence[LogEntry], path: str | Path, selected_step: int | None = None
) -> Path:
    """Plot loss, BLEU/chrF (evaluation points only) and teacher-forcing ratio over steps as a PNG.

    `history` is train.py's log (`run_records.LogHistory.entries`): training entries carry the
    loss and teacher-forcing ratio, evaluation entries the validation loss, BLEU and chrF, each
    drawn at the steps where it appears. `selected_step`, the step of the kept model, is marked
    on every panel. The teacher-forcing panel is left out when the ratio never changed. Returns
    the path written.
    """
    with matplotlib.rc_context({"font.family": _font_families()}):
        return _save(training_curves_figure(history, selected_step), path)


def training_curves_figure(history: Sequence[LogEntry], selected_step: int | None = None) -> Figure:
    """The figure `plot_training_curves` saves (see there)."""
    if not history:
        raise ValueError("history: nothing to plot, the list is empty")

    def series(read: Callable[[LogEntry], float | None]) -> tuple[list, list]:
        """(steps, values) of the entries that hold the value `read` reads."""
        points = [(entry.step, read(entry)) for entry in history if read(entry) is not None]
        return [step for step, _ in points], [value for _, value in points]

    def validation(score: str) -> Callable[[LogEntry], float | None]:
        return lambda entry: getattr(entry.validation, score) if entry.validation else None

    ratios = set(series(lambda entry: entry.teacher_forcing_ratio)[1])
    panels = 3 if len(ratios) > 1 else 2
    figure = Figure(figsize=(8.0, 3.0 * panels), layout="constrained")
    all_axes = figure.subplots(panels, 1, sharex=True)
    loss_axes, score_axes = all_axes[:2]

    loss_axes.plot(*series(lambda entry: entry.loss), label="training loss")
    if series(validation("loss"))[0]:
        loss_axes.plot(*series(validation("loss")), marker="o", label="validation loss")
    loss_axes.set_ylabel("loss")

    for name, label in (("bleu", "BLEU"), ("chrf", "chrF")):
        if series(validation(name))[0]:
            score_axes.plot(*series(validation(name)), marker="o", label=label)
    if not score_axes.lines:
        score_axes.text(0.5, 0.5, "no evaluation yet", ha="center", transform=score_axes.transAxes)
    score_axes.set_ylabel("validation score")

    if panels == 3:
        ratio_axes = all_axes[2]
        ratio_axes.plot(*series(lambda entry: entry.teacher_forcing_ratio), color="tab:green")
        ratio_axes.set_ylim(-0.05, 1.05)
        ratio_axes.set_ylabel("teacher-forcing ratio")
    all_axes[-1].set_xlabel("step")
    for axes in all_axes:
        if selected_step is not None:
            axes.axvline(
                selected_step,
                color="tab:red",
                linestyle="--",
                label=f"kept model (step {selected_step})",
            )
        axes.grid(alpha=0.3)
    for axes in (loss_axes, score_axes):
        if axes.lines:
            axes.legend()
    return figure


def plot_validation_curves(histories: Mapping[str, Sequence[LogEntry]], path: str | Path) -> Path:
    """Plot the validation chrF of several runs over steps in one PNG, one line per run.

    `histories` maps a run's label to its log (`run_records.LogHistory.entries`); runs that were
    never evaluated are left out. An ablation reads best this way: every row on the same axes.
    Returns the path written.
    """
    with matplotlib.rc_context({"font.family": _font_families()}):
        return _save(validation_curves_figure(histories), path)


def validation_curves_figure(histories: Mapping[str, Sequence[LogEntry]]) -> Figure:
    """The figure `plot_validation_curves` saves (see there)."""
    figure = Figure(figsize=(8.0, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for label, history in histories.items():
        evaluated = [
            entry
            for entry in history
            if entry.validation is not None and entry.validation.chrf is not None
        ]
        if evaluated:
            steps = [entry.step for entry in evaluated]
            scores = [entry.validation.chrf for entry in evaluated]
            axes.plot(steps, scores, marker="o", markersize=3, label=label)
    if not axes.lines:
        raise ValueError("histories: no run has a validation chrF to plot")
    axes.set_xlabel("step")
    axes.set_ylabel("validation chrF")
    axes.grid(alpha=0.3)
    axes.legend()
    return figure
