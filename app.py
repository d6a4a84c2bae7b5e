"""A web page for the translator: Korean in, English out, with the attention alignment on screen.

    python app.py [--model_dir DIR [--model_dir DIR]] [--quantize {none,int8,bf16}] [--port N]
                  [--share]

Each line of the Korean text box is translated on its own. For one line (the first by default)
the page also shows the n-best list with scores and the cross-attention heatmap. Given two
models (e.g. attention "none" and "bahdanau"), the page shows them side by side. The translate
function is a named API endpoint, Korean text first, English first in the answer:

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("안녕하세요", api_name="/translate")

`push_to_hub.py --space` stages this file unchanged as a Hugging Face Space, beside copies of the
package modules it imports and a default_model.txt naming the Hub repository the Space loads
(see `hf_seq2seq_lstm.space`).
"""

import argparse
import atexit
import functools
import logging
import os
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import torch
from fontTools.ttLib import TTFont
from PIL import Image
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

from hf_seq2seq_lstm.alignment import translate_with_attention
from hf_seq2seq_lstm.inference import DEFAULT_MODEL_DIR, load_model_and_tokenizer, plot_alignment
from hf_seq2seq_lstm.plotting import korean_font_path
from hf_seq2seq_lstm.quality import Scores, read_scores
from hf_seq2seq_lstm.quantization import QUANTIZE_CHOICES

# The model loaded without --model_dir: the one default_model.txt beside this file names (a
# Space's model repository, written by `push_to_hub.py --space`), else train.py's --output_dir.
DEFAULT_MODEL_FILE = Path(__file__).with_name("default_model.txt")
DEFAULT_MODEL = (
    DEFAULT_MODEL_FILE.read_text(encoding="utf-8").strip()
    if DEFAULT_MODEL_FILE.is_file()
    else DEFAULT_MODEL_DIR
)
DECODING_METHODS = ("greedy", "beam", "sampling")
MAX_MODELS = 2
# A line costs up to about a second per model on one CPU core: more would block the queue.
MAX_LINES = 20
MAX_BEAMS = 10
NBEST_HEADERS = ["rank", "translation", "score"]
TITLE_CHARACTERS = 60
EXAMPLES = [
    "오늘 날씨가 정말 좋네요.",
    "지하철역이 어디예요?",
    "내일 아침 일곱 시에 만나요.",
    "비밀번호를 잊어버렸어요.",
    "안녕하세요.\n이거 얼마예요?\n감사합니다.",
]
EMPTY_INPUT_NOTE = "Type or paste Korean text first: one sentence per line."
NO_ATTENTION_NOTE = (
    'This model has no attention (`attention="none"`): its decoder sees only the encoder\'s '
    "final state, one context vector for the whole sentence, so there is no alignment to draw."
)

# The page's Hangul comes from this web font, not from the browser's machine, which may have no
# Korean font (every Hangul character an empty box). Served only for the Hangul blocks (jamo,
# compatibility jamo, syllables): Latin text keeps the theme's font.
WEB_FONT_FAMILY = "NanumGothic"
HANGUL_UNICODE_RANGE = "U+1100-11FF, U+3130-318F, U+A960-A97F, U+AC00-D7AF, U+D7B0-D7FF"

logger = logging.getLogger("app")
# Gradio reports usage and checks for updates over the network unless told not to.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@dataclass
class Translator:
    """A loaded model with its tokenizer, the name the page shows for it and its measured
    scores (None where the folder or repository records none)."""

    name: str
    model: torch.nn.Module
    tokenizer: object
    quantize: str = "none"
    scores: Scores | None = None

    @classmethod
    def load(cls, name: str, quantize: str = "none") -> "Translator":
        """A model folder or Hub repository (`inference.load_model_and_tokenizer`), with the
        scores of its train.py folder's all_results.json, else of its model card."""
        model, tokenizer = load_model_and_tokenizer(name, quantize)
        return cls(name, model, tokenizer, quantize, read_scores(name))

    @property
    def attention(self) -> str:
        return self.model.config.attention

    @property
    def max_source_tokens(self) -> int | None:
        """The longest source the model reads, as the translation pipeline cuts it.

        None where the tokenizer was saved without a `model_max_length`.
        """
        limit = self.tokenizer.model_max_length
        return None if limit >= VERY_LARGE_INTEGER else limit


@dataclass
class Decoding:
    """The page's decoding controls; `generate_kwargs` turns them into `generate()` arguments."""

    method: str = "beam"
    num_beams: int = 5
    length_penalty: float = 1.0
    temperature: float = 1.0
    n_best: int = 5
    seed: int = 0

    def __post_init__(self):
        if self.method not in DECODING_METHODS:
            raise ValueError(f"decoding must be one of {', '.join(DECODING_METHODS)}")
        if not 1 <= self.num_beams <= MAX_BEAMS or not 1 <= self.n_best <= MAX_BEAMS:
            raise ValueError(f"beams and n-best size must be between 1 and {MAX_BEAMS}")
        if self.temperature <= 0:
            raise ValueError("temperature must be above 0")

    def generate_kwargs(self) -> dict:
        # Every method sets num_beams and do_sample: the saved generation config (beam 5)
        # must not leak into greedy or sampling.
        if self.method == "greedy":
            return {"num_beams": 1, "do_sample": False}
        if self.method == "beam":
            return {
                "num_beams": self.num_beams,
                "length_penalty": self.length_penalty,
                "do_sample": False,
            }
        # top_k=0: sample from the whole temperature-scaled distribution.
        return {"num_beams": 1, "do_sample": True, "temperature": self.temperature, "top_k": 0}


DEFAULTS = Decoding()


@dataclass
class Result:
    """What one model's column of the page shows."""

    english: str = ""
    nbest: list[list] = field(default_factory=list)
    heatmap: Image.Image | None = None
    notes: list[str] = field(default_factory=list)

    def outputs(self) -> tuple:
        return self.english, self.nbest, self.heatmap, "\n\n".join(self.notes)


def describe(translator: Translator) -> str:
    """A heading for the model's column: its name, cell, attention, any quantization and its
    measured scores, and, where those are low, the same plain warning as its model card."""
    config = translator.model.config
    scores = translator.scores
    quantized = "" if translator.quantize == "none" else f", {translator.quantize}"
    heading = (
        f"### {translator.name}\n{config.cell_type.upper()}, attention: {config.attention}"
        f"{quantized}; " + (f"measured {scores}" if scores else "no measured scores recorded")
    )
    verdict = scores.verdict() if scores else None
    return f"{heading}\n\n{verdict}" if verdict else heading


def fit_to_model(translator: Translator, sentence: str) -> str:
    """`sentence`, cut after the last character that fits the model's source length."""
    tokenizer = translator.tokenizer
    limit = translator.max_source_tokens
    if limit is None:
        return sentence
    # One token past the limit tells whether the sentence fits, without encoding all of it.
    encoding = tokenizer(
        sentence, truncation=True, max_length=limit + 1, return_offsets_mapping=True
    )
    if len(encoding["input_ids"]) <= limit:
        return sentence
    content_tokens = limit - tokenizer.num_special_tokens_to_add()
    cut = sentence[: encoding["offset_mapping"][content_tokens - 1][1]]
    # A character spelled in several byte tokens may straddle the limit: drop it whole.
    while len(tokenizer(cut)["input_ids"]) > limit:
        cut = cut[:-1]
    return cut


def nbest(translator: Translator, sentence: str, decoding: Decoding) -> list[list]:
    """Rows of (rank, translation, score) for `sentence`, best first.

    Beam search scores are the model's: the log-probability divided by length^length_penalty.
    Greedy search and sampling score a hypothesis by its log-probability under the distribution
    it was drawn from. Sample k is drawn with seed `decoding.seed + k`: sample 0 is the one the
    English output shows.
    """
    model, tokenizer = translator.model, translator.tokenizer
    inputs = tokenizer(sentence, return_tensors="pt").to(model.device)
    kwargs = {**decoding.generate_kwargs(), "output_scores": True, "return_dict_in_generate": True}
    if kwargs["num_beams"] > 1:  # one beam is greedy search, which reports no beam scores
        returned = min(decoding.n_best, decoding.num_beams)
        with torch.no_grad():
            output = model.generate(**inputs, **kwargs, num_return_sequences=returned)
        hypotheses = zip(output.sequences, output.sequences_scores.tolist(), strict=True)
    else:
        draws = decoding.n_best if decoding.method == "sampling" else 1
        hypotheses = [_scored_draw(model, inputs, kwargs, decoding.seed + k) for k in range(draws)]
    rows = [
        [rank, tokenizer.decode(ids, skip_special_tokens=True).strip(), round(score, 4)]
        for rank, (ids, score) in enumerate(hypotheses, start=1)
    ]
    if decoding.method == "sampling":
        rows.sort(key=lambda row: -row[2])
        for rank, row in enumerate(rows, start=1):
            row[0] = rank
    return rows


def _scored_draw(model, inputs, kwargs: dict, seed: int) -> tuple[torch.Tensor, float]:
    """One greedy or sampled output and its log-probability."""
    torch.manual_seed(seed)
    with torch.no_grad():
        output = model.generate(**inputs, **kwargs)
    steps = model.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)
    return output.sequences[0], float(steps[0].sum())


def attention_heatmap(sentence: str, alignment) -> Image.Image:
    """The alignment drawn by `plot_alignment`, as an image the page can show."""
    # A long sentence's title would run off the figure; the axes carry every token anyway.
    title = (
        sentence if len(sentence) <= TITLE_CHARACTERS else sentence[: TITLE_CHARACTERS - 1] + "…"
    )
    with tempfile.TemporaryDirectory(prefix="attention-") as scratch:
        path = plot_alignment(alignment, Path(scratch) / "attention.png", title=title)
        with Image.open(path) as image:
            return image.copy()  # in memory: the file goes with the scratch folder


def translate_text(translator: Translator, text: str, decoding: Decoding, line: int = 1) -> Result:
    """Translate every line of `text`; the n-best list and heatmap are for line `line` (1-based).

    Blank lines stay blank in the English. Lines beyond MAX_LINES and text beyond the model's
    source length are left out, each with a note.
    """
    lines = [part.strip() for part in (text or "").splitlines()]
    if not any(lines):
        return Result(notes=[EMPTY_INPUT_NOTE])
    result = Result()
    if len(lines) > MAX_LINES:
        result.notes.append(
            f"Only the first {MAX_LINES} of {len(lines)} lines are translated; "
            "translate the rest separately."
        )
        lines = lines[:MAX_LINES]
    chosen = _chosen_line(lines, line, result.notes)
    english = []
    for number, sentence in enumerate(lines, start=1):
        if not sentence:
            english.append("")
            continue
        fitted = fit_to_model(translator, sentence)
        if fitted != sentence:
            result.notes.append(
                f"Line {number} is longer than the model reads "
                f"({translator.max_source_tokens} tokens): only its first {len(fitted):,} of "
                f"{len(sentence):,} characters were translated."
            )
        torch.manual_seed(decoding.seed)  # a line samples the same alone or among others
        alignment = translate_with_attention(
            translator.model, translator.tokenizer, fitted, **decoding.generate_kwargs()
        )
        english.append(alignment.translation)
        if not alignment.translation:
            result.notes.append(f"Line {number}: the model ended its translation at once (empty).")
        if number == chosen:
            result.nbest = nbest(translator, fitted, decoding)
            if alignment.weights is None:
                result.notes.append(NO_ATTENTION_NOTE)
            else:
                result.heatmap = attention_heatmap(fitted, alignment)
    result.english = "\n".join(english)
    return result


def _chosen_line(lines: list[str], line: int, notes: list[str]) -> int:
    """The 1-based line to explain: `line` when it has text, else the first that has."""
    if 1 <= line <= len(lines) and lines[line - 1]:
        return line
    first = next(number for number, text in enumerate(lines, start=1) if text)
    notes.append(f"Line {line} has no text: the n-best list and heatmap are for line {first}.")
    return first


def make_translate(translators: list[Translator]):
    """The page's (and the /translate endpoint's) function over `translators`.

    It takes the Korean text, then the decoding controls (all defaulted), and returns English,
    n-best rows, heatmap and notes for each model in turn: the first model's English first.
    """

    def translate(
        text: str,
        decoding: str = DEFAULTS.method,
        num_beams: float = DEFAULTS.num_beams,
        length_penalty: float = DEFAULTS.length_penalty,
        temperature: float = DEFAULTS.temperature,
        n_best: float = DEFAULTS.n_best,
        seed: float = DEFAULTS.seed,
        line: float = 1,
    ) -> tuple:
        """Translate Korean text, one sentence per line, with every model."""
        try:
            settings = Decoding(
                decoding,
                int(num_beams),
                float(length_penalty),
                float(temperature),
                int(n_best),
                int(seed),
            )
        except (TypeError, ValueError) as error:
            raise gr.Error(str(error)) from None
        results = [
            translate_text(translator, text, settings, int(line)) for translator in translators
        ]
        return tuple(value for result in results for value in result.outputs())

    return translate


def build_demo(translators: list[Translator]) -> gr.Blocks:
    """The page: input and decoding controls on top, one column of results per model."""
    with gr.Blocks(title="Korean → English translation", analytics_enabled=False) as demo:
        gr.Markdown(
            "# Korean → English translation\n"
            "An RNN encoder-decoder: type Korean (one sentence per line) and press Translate. "
            "The heatmap shows which source tokens each English token attended to."
        )
        inputs = [
            gr.Textbox(
                label="Korean", lines=4, placeholder="오늘 날씨가 정말 좋네요.", elem_id="korean"
            )
        ]
        with gr.Accordion("Decoding", open=False):
            with gr.Row():
                inputs += [
                    gr.Radio(list(DECODING_METHODS), value=DEFAULTS.method, label="Search"),
                    gr.Slider(1, MAX_BEAMS, value=DEFAULTS.num_beams, step=1, label="Beams"),
                    gr.Slider(
                        0.0,
                        2.0,
                        value=DEFAULTS.length_penalty,
                        step=0.1,
                        label="Length penalty (beam)",
                    ),
                    gr.Slider(
                        0.1,
                        2.0,
                        value=DEFAULTS.temperature,
                        step=0.1,
                        label="Temperature (sampling)",
                    ),
                ]
            with gr.Row():
                inputs += [
                    gr.Slider(1, MAX_BEAMS, value=DEFAULTS.n_best, step=1, label="N-best size"),
                    gr.Number(value=DEFAULTS.seed, precision=0, label="Seed (sampling)"),
                    gr.Number(value=1, precision=0, label="Line to explain (n-best, heatmap)"),
                ]
        button = gr.Button("Translate", variant="primary", elem_id="translate")
        gr.Examples(examples=[[example] for example in EXAMPLES], inputs=inputs[:1])
        outputs = []
        with gr.Row():
            for index, translator in enumerate(translators):
                with gr.Column():
                    gr.Markdown(describe(translator))
                    outputs += [
                        gr.Textbox(label="English", lines=4, elem_id=f"english-{index}"),
                        gr.Dataframe(
                            headers=NBEST_HEADERS,
                            datatype=["number", "str", "number"],
                            label="N-best list",
                            interactive=False,
                        ),
                        gr.Image(
                            label="Cross-attention",
                            type="pil",
                            format="png",
                            elem_id=f"heatmap-{index}",
                            # Without attention the notes say why there is no heatmap.
                            visible=translator.attention != "none",
                        ),
                        gr.Markdown(label="Notes", elem_id=f"notes-{index}"),
                    ]
        gr.Markdown(
            "N-best scores: beam search shows the model's beam score (log-probability / "
            "length^length penalty); greedy search and sampling show the log-probability."
        )
        button.click(make_translate(translators), inputs, outputs, api_name="translate")
    return demo


@functools.cache
def web_font_file() -> Path | None:
    """The Korean font the heatmap is drawn with, in a form browsers accept; None without one.

    NanumGothic.ttf carries Visual TrueType source tables (TSI0-TSI5), one of them empty, for
    which Chrome rejects the whole font ("OTS parsing error: TSI3: zero-length table"). They
    serve only font editing: this copy, written once per process, leaves them out.
    """
    source = korean_font_path()
    if source is None:
        return None
    font = TTFont(source)
    for tag in [tag for tag in font.keys() if tag.startswith("TSI")]:
        del font[tag]
    folder = Path(tempfile.mkdtemp(prefix="web-font-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    font.save(folder / source.name)
    return folder / source.name


def page_style() -> dict:
    """`launch()` arguments that give the page the Korean font the heatmap is drawn with.

    `web_font_file()` is served as a web font for Hangul, first in the theme's font list.
    Gradio 6 takes a page's theme and CSS at launch, not in `gr.Blocks`. Empty where no Korean
    font is installed: Hangul then shows only where the browser's machine has a Korean font.
    """
    font = web_font_file()
    if font is None:
        logger.warning(
            "No Korean font to serve: browsers without one show Hangul as empty boxes. Install "
            "one with `pip install koreanize-matplotlib` or `apt-get install fonts-nanum`."
        )
        return {}
    theme = gr.themes.Default()
    # Prepended, so that the theme's own fonts keep their @font-face rules.
    theme.font = f"'{WEB_FONT_FAMILY}', {theme.font}"
    # Relative, as Gradio's own font URLs are: it still resolves under a proxy's path prefix.
    url = "gradio_api/file=" + urllib.parse.quote(font.as_posix())
    css = (
        f"@font-face {{ font-family: '{WEB_FONT_FAMILY}'; src: url('{url}') format('truetype'); "
        f"unicode-range: {HANGUL_UNICODE_RANGE}; }}"
    )
    return {"theme": theme, "css": css, "allowed_paths": [str(font)]}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model_dir",
        action="append",
        help="a trained model folder or Hub repository; give it twice to compare two models "
        f"side by side (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZE_CHOICES,
        default="none",
        help="CPU inference: int8 quantizes the LSTM/GRU and linear layers, bf16 runs in bfloat16 "
        "(default: none, float32)",
    )
    parser.add_argument(
        "--port", type=int, help="port to serve on (default: $GRADIO_SERVER_PORT, else 7860)"
    )
    parser.add_argument(
        "--share", action="store_true", help="also serve the page through a public gradio.live link"
    )
    args = parser.parse_args(argv)
    args.model_dir = args.model_dir or [DEFAULT_MODEL]
    if len(args.model_dir) > MAX_MODELS:
        parser.error(f"--model_dir: at most {MAX_MODELS} models side by side")
    return args


def main(argv=None) -> None:
    """Load the models, then serve the page until interrupted."""
    args = parse_args(argv)
    # INFO for this script only: the HTTP libraries log every request at INFO.
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    translators = []
    for name in args.model_dir:
        try:
            translators.append(Translator.load(name, args.quantize))
        except OSError as error:
            # A name that is not a folder here is looked up on the Hub: say so, or the Hub's
            # error reads as if the folder had been found.
            where = (
                "" if Path(name).is_dir() else " (no such folder, so it was looked up on the Hub)"
            )
            raise SystemExit(
                f"error: cannot load the model {name!r}{where}: {error}\n"
                "Pass --model_dir with the --output_dir of a finished train.py run."
            ) from None
    quantized = "" if args.quantize == "none" else f" ({args.quantize})"
    logger.info("Loaded %s%s", ", ".join(args.model_dir), quantized)
    build_demo(translators).launch(server_port=args.port, share=args.share, **page_style())


if __name__ == "__main__":
    main()
