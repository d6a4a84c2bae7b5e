"""Attention heatmaps and training curves as PNG files, drawn offline without a display.

Korean needs a font with Hangul: the NanumGothic file shipped inside the `koreanize-matplotlib`
wheel (PyPI), else Debian's `fonts-nanum`. The file is registered with matplotlib by path, so no
system font cache or network is involved. The figures are drawn on Agg canvases directly rather
than through pyplot, so importing this module changes no global backend or rcParams.
"""

import functools
import importlib.util
import warnings
from collections.abc import Callable, Sequence
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
    size 1 (batch, heads) are dropped. Pass tokens as readable strings (e.g. each id decoded on
    its own), one per row/column. Returns the path written.
    """
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

    with matplotlib.rc_context({"font.family": _font_families(), "axes.unicode_minus": False}):
        # Grow with the sentence so that every token label stays legible.
        width = min(4.0 + 0.45 * len(source_tokens), 30.0)
        height = min(3.0 + 0.35 * len(target_tokens), 30.0)
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.add_subplot()
        image = axes.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
        figure.colorbar(image, ax=axes, label="attention weight")
        # Source tokens along the top, read left to right like the sentence.
        axes.tick_params(axis="x", top=True, bottom=False, labeltop=True, labelbottom=False)
        axes.set_xticks(
            range(len(source_tokens)),
            labels=list(source_tokens),
            rotation=45,
            ha="left",
            rotation_mode="anchor",
        )
        axes.set_yticks(range(len(target_tokens)), labels=list(target_tokens))
        axes.xaxis.set_label_position("top")
        axes.set_xlabel("source tokens")
        axes.set_ylabel("output tokens")
        if title:
            axes.set_title(title)
        return _save(figure, path)


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
