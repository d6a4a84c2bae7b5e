"""The Gradio demo (app.py): its functions, its /translate API, the page in a real browser, and
the Space that push_to_hub.py stages for it.

The models are two tiny LSTMs, one with attention and one without, overfitted in a few seconds to
six sentence pairs, so that their translations are real English that the tests can name.
CI (HF_SEQ2SEQ_REQUIRE_DEMO=1) fails instead of skipping where gradio, Selenium or Chromium is
missing.
"""

import ast
import copy
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import socket
import sys
import urllib.request
from pathlib import Path

import pytest
import torch
import yaml
from fontTools.ttLib import TTFont
from helpers import (
    FAKE_TOKEN,
    SCRIPTS,
    RecordingHfApi,
    overfit,
    pairs_tokenizer,
    run_without_package,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

import push_to_hub
from hf_seq2seq_lstm import (
    hub,
    plotting,
    quality,
    space,
)
from hf_seq2seq_lstm.alignment import translate_with_attention
from hf_seq2seq_lstm.run_records import Results

REQUIRE_DEMO = os.environ.get("HF_SEQ2SEQ_REQUIRE_DEMO") == "1"


def missing(reason: str):
    """Skip with `reason`; in CI, where everything the demo needs is installed, fail."""
    if REQUIRE_DEMO:
        pytest.fail(reason)
    pytest.skip(reason, allow_module_level=True)


def require(module_name: str, reason: str):
    """`module_name` imported, or `missing(reason)`."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        missing(reason)


gr = require("gradio", "gradio is not installed: pip install -e '.[demo]'")
import app  # noqa: E402 (needs gradio)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
MAX_SOURCE_TOKENS = 48
ARTIFACTS = os.path.join(os.path.dirname(__file__), "artifacts")
SPACE_ID, MODEL_REPO_ID = "alice/ko-en-demo", "alice/ko-en-lstm"
APP_FILE = Path(push_to_hub.APP_FILE)
PACKAGE_DIR = Path(space.__file__).parent


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """{attention: folder} for "bahdanau" and "none", saved the plain way (save_pretrained)."""
    tokenizer = pairs_tokenizer(model_max_length=MAX_SOURCE_TOKENS)
    folders = {}
    for attention in ("bahdanau", "none"):
        folder = tmp_path_factory.mktemp(f"model-{attention}")
        overfit(tokenizer, embedding_dim=32, attention=attention).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders[attention] = folder
    return folders


@pytest.fixture(scope="module")
def translators(model_dirs):
    return {attention: app.Translator.load(str(folder)) for attention, folder in model_dirs.items()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(translators):
    """The side-by-side page (attention first, then none), served on a free local port."""
    demo = app.build_demo([translators["bahdanau"], translators["none"]])
    demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
        **app.page_style(),
    )  # fmt: skip
    yield demo.local_url
    demo.close()


def test_every_line_is_translated_and_blank_lines_stay_blank(translators):
    result = app.translate_text(
        translators["bahdanau"], "오늘 날씨가 좋네요.\n\n  배가 고파요.  ", app.Decoding()
    )
    assert result.english.split("\n") == ["The weather is nice today.", "", "I am hungry."]
    assert result.notes == []


@pytest.mark.parametrize(
    "method,num_beams", [("greedy", 3), ("beam", 3), ("beam", 1), ("sampling", 3)]
)
def test_output_and_heatmap_come_from_the_chosen_decoding(translators, method, num_beams):
    translator = translators["bahdanau"]
    decoding = app.Decoding(method, num_beams, n_best=3, temperature=0.7, seed=11)
    result = app.translate_text(translator, "안녕하세요.\n지하철역이 어디예요?", decoding, line=2)
    torch.manual_seed(11)
    alignment = translate_with_attention(
        translator.model, translator.tokenizer, "지하철역이 어디예요?", **decoding.generate_kwargs()
    )
    assert result.english.split("\n")[1] == alignment.translation
    # One row per output token, one column per source token, both axes labelled.
    heatmap = app.attention_heatmap("지하철역이 어디예요?", alignment)
    assert result.heatmap.size == heatmap.size and result.heatmap.tobytes() == heatmap.tobytes()
    assert alignment.weights.shape == (len(alignment.target_tokens), len(alignment.source_tokens))
    translations = [row[1] for row in result.nbest]
    if method == "sampling":  # the draws are sorted by score: sample 0 is one of them
        assert alignment.translation in translations
    else:
        assert translations[0] == alignment.translation
    assert len(result.nbest) == (1 if method == "greedy" or num_beams == 1 else 3)


def test_beam_nbest_lists_the_beams_with_generates_scores_best_first(translators):
    translator = translators["bahdanau"]
    decoding = app.Decoding(method="beam", num_beams=4, length_penalty=0.6, n_best=10)
    rows = app.nbest(translator, "이거 얼마예요?", decoding)
    assert [row[0] for row in rows] == [1, 2, 3, 4]  # no more hypotheses than beams
    assert rows[0][1] == "How much is this?"
    inputs = translator.tokenizer("이거 얼마예요?", return_tensors="pt")
    output = translator.model.generate(
        **inputs, num_beams=4, length_penalty=0.6, num_return_sequences=4,
        output_scores=True, return_dict_in_generate=True,
    )  # fmt: skip
    assert [row[2] for row in rows] == pytest.approx(output.sequences_scores.tolist(), abs=1e-4)
    assert [row[2] for row in rows] == sorted((row[2] for row in rows), reverse=True)


def test_greedy_score_is_the_log_probability_of_the_output(translators):
    translator = translators["none"]
    model, tokenizer = translator.model, translator.tokenizer
    ((rank, text, score),) = app.nbest(translator, "감사합니다.", app.Decoding(method="greedy"))
    assert (rank, text) == (1, "Thank you.")
    # Scored independently: a teacher-forced pass over the output, token by token.
    inputs = tokenizer("감사합니다.", return_tensors="pt")
    output = model.generate(**inputs, num_beams=1, do_sample=False)
    logits = model(**inputs, decoder_input_ids=output[:, :-1]).logits
    log_probs = logits.log_softmax(-1).gather(-1, output[:, 1:, None])
    assert score == pytest.approx(float(log_probs.sum().detach()), abs=1e-3)
    assert score < 0


def test_sampling_is_reproducible_per_seed_and_the_output_is_sample_zero(translators):
    translator = translators["bahdanau"]
    hot = app.Decoding(method="sampling", temperature=2.0, n_best=4, seed=3)
    first = app.translate_text(translator, "배가 고파요.", hot)
    again = app.translate_text(translator, "배가 고파요.", hot)
    assert (first.english, first.nbest) == (again.english, again.nbest)
    assert first.english in [row[1] for row in first.nbest]
    assert len(first.nbest) == 4
    assert [row[2] for row in first.nbest] == sorted((row[2] for row in first.nbest), reverse=True)
    seeds = {app.translate_text(translator, "배가 고파요.", hot).english}
    for seed in range(4, 12):
        other = app.Decoding(method="sampling", temperature=2.0, n_best=1, seed=seed)
        seeds.add(app.translate_text(translator, "배가 고파요.", other).english)
    assert len(seeds) > 1, "at temperature 2 different seeds must draw different outputs"


def test_side_by_side_returns_each_models_column_in_turn(translators):
    attention, none = translators["bahdanau"], translators["none"]
    translate = app.make_translate([attention, none])
    outputs = translate("배가 고파요.\n이거 얼마예요?", "greedy")
    assert len(outputs) == 8
    for column, translator in zip((outputs[:4], outputs[4:]), (attention, none), strict=True):
        alone = app.translate_text(
            translator, "배가 고파요.\n이거 얼마예요?", app.Decoding("greedy")
        )
        assert column[:2] == (alone.english, alone.nbest) and column[3] == "\n\n".join(alone.notes)
    assert outputs[0] == "I am hungry.\nHow much is this?"
    assert outputs[2] is not None and outputs[6] is None
    assert outputs[7] == app.NO_ATTENTION_NOTE
    with pytest.raises(gr.Error, match="temperature must be above 0"):
        translate("배가 고파요.", "sampling", temperature=0)


def test_a_model_without_attention_says_so_instead_of_a_heatmap(translators):
    result = app.translate_text(translators["none"], "오늘 날씨가 좋네요.", app.Decoding())
    assert result.english == "The weather is nice today."
    assert result.heatmap is None and result.notes == [app.NO_ATTENTION_NOTE]


@pytest.mark.parametrize(
    "text",
    ["", "  \n\t  \n", "가나다라마" * 1000, "😀🎉 좋아요 👍", "漢字를 읽어요. 韓國語"],
    ids=["empty", "whitespace", "5000-characters", "emoji", "hanja"],
)
def test_bad_inputs_give_a_translation_or_a_clear_message(translators, text):
    translator = translators["bahdanau"]
    english, nbest, heatmap, notes = app.translate_text(translator, text, app.Decoding()).outputs()
    if not text.strip():
        assert (english, nbest, heatmap, notes) == ("", [], None, app.EMPTY_INPUT_NOTE)
        return
    assert english.strip() and "\n" not in english
    assert nbest[0][1] == english and heatmap is not None
    if len(text) == 5000:
        fitted = app.fit_to_model(translator, text)
        assert len(translator.tokenizer(fitted)["input_ids"]) <= MAX_SOURCE_TOKENS
        assert text.startswith(fitted) and len(fitted) > MAX_SOURCE_TOKENS // 2
        assert notes == (
            f"Line 1 is longer than the model reads ({MAX_SOURCE_TOKENS} tokens): only its "
            f"first {len(fitted):,} of 5,000 characters were translated."
        )
    else:
        assert notes == ""


def test_an_empty_translation_is_explained(translators):
    mute = copy.deepcopy(translators["none"])
    with torch.no_grad():
        mute.model.lm_head.bias[mute.tokenizer.eos_token_id] += 100.0  # </s> first, always
    result = app.translate_text(mute, "안녕하세요.\n감사합니다.", app.Decoding())
    assert result.english == "\n"
    empty = "Line {}: the model ended its translation at once (empty)."
    assert result.notes == [empty.format(1), app.NO_ATTENTION_NOTE, empty.format(2)]


def test_a_sentence_that_fits_is_never_cut(translators):
    translator = translators["bahdanau"]
    tokenizer = translator.tokenizer
    longest = "가" * 200
    while len(tokenizer(longest)["input_ids"]) > MAX_SOURCE_TOKENS:
        longest = longest[:-1]
    assert app.fit_to_model(translator, longest) == longest
    assert app.fit_to_model(translator, longest + "가") == longest
    unbounded = copy.deepcopy(translator)
    unbounded.tokenizer.model_max_length = VERY_LARGE_INTEGER  # saved without a limit
    assert app.fit_to_model(unbounded, longest * 3) == longest * 3


def test_too_many_lines_and_an_empty_chosen_line_are_explained(translators):
    text = "\n".join(["안녕하세요."] * (app.MAX_LINES + 5))
    result = app.translate_text(translators["none"], text, app.Decoding(method="greedy"))
    assert result.english.split("\n") == ["Hello."] * app.MAX_LINES
    assert f"Only the first {app.MAX_LINES} of {app.MAX_LINES + 5} lines" in result.notes[0]
    explained = app.translate_text(
        translators["none"], "\n감사합니다.", app.Decoding(method="greedy"), line=1
    )
    assert explained.nbest == [[1, "Thank you.", explained.nbest[0][2]]]
    assert "Line 1 has no text: the n-best list and heatmap are for line 2." in explained.notes


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"method": "beam search"}, "decoding must be one of greedy, beam, sampling"),
        ({"num_beams": 0}, "between 1 and 10"),
        ({"n_best": 11}, "between 1 and 10"),
        ({"temperature": 0.0}, "temperature must be above 0"),
    ],
)
def test_invalid_decoding_settings_are_named(settings, message):
    with pytest.raises(ValueError, match=message):
        app.Decoding(**settings)


def test_each_column_names_its_model_with_its_measured_scores(model_dirs, translators, tmp_path):
    folder = tmp_path / "trained"
    shutil.copytree(model_dirs["bahdanau"], folder)
    results = {"test_bleu": 2.5, "test_chrf": 18.75, "eval_bleu": 3.0, "eval_chrf": 21.0}
    Results.from_json(results).write(folder)
    low = app.Translator.load(str(folder))
    assert low.scores == quality.Scores("test", 2.5, 18.75)
    heading, verdict = app.describe(low).split("\n\n")
    assert heading == (
        f"### {folder}\nLSTM, attention: bahdanau; measured test BLEU 2.50, chrF 18.75"
    )
    assert verdict == low.scores.verdict() and "A teaching model, not a translator" in verdict
    good = dataclasses.replace(low, scores=quality.Scores("test", 30.0, 55.0))
    assert app.describe(good).endswith("measured test BLEU 30.00, chrF 55.00")
    # A folder saved without run records or card says so rather than showing nothing.
    assert translators["none"].scores is None
    assert app.describe(translators["none"]).endswith("; no measured scores recorded")


def test_cli_defaults_to_train_output_and_takes_at_most_two_models(capsys):
    assert app.parse_args([]).model_dir == ["outputs/ko-en-lstm"]
    assert app.parse_args(["--model_dir", "a", "--model_dir", "b"]).model_dir == ["a", "b"]
    with pytest.raises(SystemExit):
        app.parse_args(["--model_dir", "a", "--model_dir", "b", "--model_dir", "c"])
    assert "at most 2 models" in capsys.readouterr().err


@pytest.mark.parametrize("quantize", ["int8", "bf16"])
def test_a_quantized_model_translates_as_float32_and_its_heading_says_so(
    model_dirs, translators, quantize
):
    from hf_seq2seq_lstm.quantization import QUANTIZE_CHOICES

    assert app.QUANTIZE_CHOICES == QUANTIZE_CHOICES
    assert app.parse_args(["--quantize", quantize]).quantize == quantize
    assert app.parse_args([]).quantize == "none"
    translator = app.Translator.load(str(model_dirs["bahdanau"]), quantize)
    text = "오늘 날씨가 좋네요.\n지하철역이 어디예요?"
    result = app.translate_text(translator, text, app.Decoding(), line=2)
    expected = app.translate_text(translators["bahdanau"], text, app.Decoding(), line=2)
    assert result.english == expected.english
    assert [row[1] for row in result.nbest][:1] == [row[1] for row in expected.nbest][:1]
    assert result.heatmap is not None
    assert f"attention: bahdanau, {quantize};" in app.describe(translator)  # before the scores
    assert "int8" not in app.describe(translators["bahdanau"])


def test_a_missing_model_exits_with_a_message_not_a_traceback(tmp_path):
    with pytest.raises(SystemExit, match="(?s)cannot load the model.*no such folder.*train.py"):
        app.main(["--model_dir", str(tmp_path / "no-model")])


def test_translate_api_takes_korean_first_and_returns_english_first(server, translators, tmp_path):
    client_module = require("gradio_client", "gradio_client ships with gradio")
    client = client_module.Client(server, download_files=str(tmp_path), verbose=False)
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(api) == ["/translate"]
    parameters = api["/translate"]["parameters"]
    assert (parameters[0]["parameter_name"], parameters[0]["component"]) == ("text", "Textbox")
    assert [parameter["parameter_has_default"] for parameter in parameters] == [False] + [True] * 7
    assert api["/translate"]["returns"][0]["label"] == "English"
    answer = client.predict("오늘 날씨가 좋네요.\n감사합니다.", api_name="/translate")
    english, nbest, heatmap, notes, english_none, _, heatmap_none, notes_none = answer
    assert english == "The weather is nice today.\nThank you."
    assert english_none == english  # both models learnt the pairs; only one has attention
    assert nbest["headers"] == app.NBEST_HEADERS and nbest["data"][0][1] == english.split("\n")[0]
    assert open(heatmap, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert heatmap_none is None and notes_none == app.NO_ATTENTION_NOTE and notes == ""
    # Bad input through the API: a message, and the server goes on serving.
    long_answer = client.predict("가나다라마" * 1000, api_name="/translate")
    assert "only its first" in long_answer[3]
    assert client.predict("   ", api_name="/translate")[3] == app.EMPTY_INPUT_NOTE
    with pytest.raises(Exception, match="Value 50 is greater than maximum value 10") as raised:
        client.predict("안녕하세요.", "beam", 5, 1.0, 1.0, 50, api_name="/translate")
    assert "Traceback" not in str(raised.value)
    assert client.predict("안녕하세요.", api_name="/translate")[0] == "Hello."


def browser_paths() -> tuple[str, str]:
    """Debian's Chromium and its driver, or a skip (a failure in CI) that says how to get them."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        missing("no Chromium/chromedriver installed: apt-get install chromium chromium-driver")
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, driven by Selenium."""
    chromium, driver_path = browser_paths()
    webdriver = require("selenium.webdriver", "selenium is not installed: pip install -e '.[demo]'")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # --no-sandbox: Chromium refuses to run as root (CI) with its sandbox.
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,2000")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    yield driver
    driver.quit()


def open_page(browser, server: str):
    """Load the page until its Korean box is there; returns that box and a wait of 60 s."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server)
    wait = WebDriverWait(browser, 60)
    korean = wait.until(lambda page: page.find_element(By.CSS_SELECTOR, "#korean textarea"))
    return korean, wait


def test_the_page_translates_in_a_headless_browser(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    korean, wait = open_page(browser, server)
    korean.send_keys("오늘 날씨가 좋네요.")
    # The button can render after the text box on a slow machine: wait for it, then click.
    button = (By.CSS_SELECTOR, "#translate")
    wait.until(expected_conditions.element_to_be_clickable(button)).click()
    english = wait.until(
        lambda page: page.find_element(By.CSS_SELECTOR, "#english-0 textarea").get_attribute(
            "value"
        )
    )
    heatmap = wait.until(
        lambda page: page.find_element(By.CSS_SELECTOR, "#heatmap-0 img").get_attribute("src")
    )
    wait.until(
        lambda page: page.execute_script(
            "const img = document.querySelector('#heatmap-0 img');"
            "return img.complete && img.naturalWidth > 0;"
        )
    )
    english_none = browser.find_element(By.CSS_SELECTOR, "#english-1 textarea").get_attribute(
        "value"
    )
    notes_none = browser.find_element(By.CSS_SELECTOR, "#notes-1").text
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTIFACTS, "app.png"))
    assert english == "The weather is nice today."
    assert english_none == english
    assert heatmap and "no attention" in notes_none


def test_hangul_on_the_page_is_drawn_in_the_web_font_it_serves(server, browser):
    korean, _ = open_page(browser, server)
    # The face loads once Hangul is laid out; Chromium refuses a font it cannot parse ("error").
    statuses = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "document.fonts.ready.then(() => done([...document.fonts]"
        f"  .filter(face => face.family.replace(/[\"']/g, '') === '{app.WEB_FONT_FAMILY}')"
        "  .map(face => face.status)));"
    )
    assert statuses == ["loaded"]
    # The glyphs drawn for the Korean box's placeholder (Chromium reports no fonts for typed
    # text): its Hangul syllables come from the served font, whatever Korean fonts this machine
    # has or lacks.
    syllables = sum("가" <= character <= "힣" for character in korean.get_attribute("placeholder"))
    browser.execute_cdp_cmd("DOM.enable", {})
    browser.execute_cdp_cmd("CSS.enable", {})
    document = browser.execute_cdp_cmd("DOM.getDocument", {"depth": -1, "pierce": True})
    node = browser.execute_cdp_cmd(
        "DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": "#korean textarea"}
    )
    fonts = browser.execute_cdp_cmd("CSS.getPlatformFontsForNode", node)["fonts"]
    hangul = [font for font in fonts if font["familyName"] == app.WEB_FONT_FAMILY]
    assert [(font["isCustomFont"], font["glyphCount"]) for font in hangul] == [(True, syllables)]
    # The font the page fetched is the served file, as a font.
    (url,) = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
        "  .filter(name => name.endsWith('.ttf'));"
    )
    with urllib.request.urlopen(url) as response:
        assert response.status == 200 and response.read() == app.web_font_file().read_bytes()


def test_the_web_font_is_the_korean_font_less_the_tables_browsers_refuse():
    served, source = TTFont(app.web_font_file()), TTFont(plotting.korean_font_path())
    assert set(served.keys()) == {tag for tag in source.keys() if not tag.startswith("TSI")}
    assert served.getBestCmap() == source.getBestCmap()


def test_without_a_korean_font_the_page_is_served_without_a_web_font(monkeypatch, caplog):
    monkeypatch.setattr(app, "korean_font_path", lambda: None)
    app.web_font_file.cache_clear()
    try:
        assert app.page_style() == {}
    finally:
        app.web_font_file.cache_clear()
    assert "No Korean font to serve" in caplog.text


def stage_space_dry_run(tmp_path):
    staged = tmp_path / "space"
    push_to_hub.main(
        [
            *("--space", SPACE_ID, "--repo_id", MODEL_REPO_ID, "--license", "Apache-2.0"),
            *("--dry_run", "--local_dir", str(staged)),
        ]
    )
    return staged


def test_space_folder_holds_exactly_the_space_files_with_bounded_requirements(tmp_path):
    staged = stage_space_dry_run(tmp_path)
    assert sorted(path.name for path in staged.iterdir()) == sorted(space.SPACE_FILES)
    _, front_matter, body = (staged / "README.md").read_text(encoding="utf-8").split("---\n", 2)
    metadata = yaml.safe_load(front_matter)
    assert metadata["sdk"] == "gradio" and metadata["app_file"] == "app.py"
    assert metadata["sdk_version"] == gr.__version__ and gr.__version__.startswith("6.")
    assert metadata["models"] == [MODEL_REPO_ID] and metadata["license"] == "apache-2.0"
    assert f'Client("{SPACE_ID}").predict("안녕하세요", api_name="/translate")' in body
    assert (staged / "packages.txt").read_text().split() == ["fonts-nanum"]
    requirements = [Requirement(line) for line in (staged / "requirements.txt").read_text().split()]
    assert {r.name for r in requirements} >= {"torch", "transformers", "matplotlib", "pillow"}
    for requirement in requirements:
        assert any(spec.operator in ("<", "<=", "==") for spec in requirement.specifier), (
            requirement
        )
        # What is tested here is what the Space may install.
        installed = importlib.metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), (requirement, installed)

    # app.py travels as it is, with byte copies of the package modules it imports beside it,
    # and finds its default model in the file staging wrote.
    assert (staged / "app.py").read_bytes() == APP_FILE.read_bytes()
    package = staged / "hf_seq2seq_lstm"
    assert sorted(path.name for path in package.iterdir()) == [
        "__init__.py",
        "alignment.py",
        "inference.py",
        "plotting.py",
        "quality.py",
        "quantization.py",
        "run_records.py",  # read by quality.py and plotting.py
    ]
    for name in ("alignment.py", "inference.py", "plotting.py", "quality.py", "run_records.py"):
        assert (package / name).read_bytes() == (PACKAGE_DIR / name).read_bytes(), name
    spec = importlib.util.spec_from_file_location("space_app", staged / "app.py")
    space_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(space_app)
    assert space_app.parse_args([]).model_dir == [MODEL_REPO_ID]


def test_every_import_of_the_space_app_is_installed_by_the_space(tmp_path):
    staged = stage_space_dry_run(tmp_path)
    requirements = [Requirement(line) for line in (staged / "requirements.txt").read_text().split()]
    # gradio comes with the Space's sdk_version; the rest must be in requirements.txt.
    installed = {"gradio", *(canonicalize_name(r.name) for r in requirements)}
    distributions = importlib.metadata.packages_distributions()
    for path in [staged / "app.py", *(staged / "hf_seq2seq_lstm").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("__future__", "hf_seq2seq_lstm"):
                    continue
                # e.g. PIL -> pillow
                providers = {canonicalize_name(d) for d in distributions.get(top, [top])}
                assert providers & installed, (path.name, name, providers)


@pytest.mark.parametrize(
    "line,message",
    [
        ("from hf_seq2seq_lstm import Seq2SeqLSTMConfig", "single modules only"),
        ("from hf_seq2seq_lstm.hub import publish", "imports other parts of the package"),
    ],
)
def test_an_app_importing_what_a_space_cannot_have_is_refused(tmp_path, line, message):
    app_file = tmp_path / "app.py"
    app_file.write_text(APP_FILE.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    with pytest.raises(hub.PublishError, match=message):
        space.stage_space(app_file, tmp_path / "space", SPACE_ID, MODEL_REPO_ID)
    assert not (tmp_path / "space").exists()


@pytest.mark.slow
def test_the_staged_app_runs_without_the_package_against_a_local_model(
    tmp_path, model_dirs, translators, hf_home
):
    staged = stage_space_dry_run(tmp_path)
    result = run_without_package(
        SCRIPTS / "space_check.py", str(staged), str(model_dirs["bahdanau"]), hf_home=hf_home
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    assert json.loads(lines["DEFAULT"]) == [MODEL_REPO_ID]
    english, nbest, heatmap_size = json.loads(lines["RESULT"])
    expected = app.translate_text(
        translators["bahdanau"], "오늘 날씨가 좋네요.\n지하철역이 어디예요?", app.Decoding()
    )
    assert english == expected.english == "The weather is nice today.\nWhere is the subway station?"
    assert nbest == expected.nbest and tuple(heatmap_size) == expected.heatmap.size
    assert lines["PAGE"] == "200"
    assert json.loads(lines["FONT"]) == [200, True]  # the page's Korean web font


def test_space_upload_creates_a_gradio_space_and_commits_only_the_space_files(monkeypatch):
    RecordingHfApi.calls = []
    monkeypatch.setattr(hub, "HfApi", RecordingHfApi)
    push_to_hub.main(["--space", SPACE_ID, "--repo_id", MODEL_REPO_ID, "--token", FAKE_TOKEN])
    calls = dict(RecordingHfApi.calls)
    assert [name for name, _ in RecordingHfApi.calls] == ["init", "create_repo", "upload_folder"]
    assert calls["create_repo"] == {
        "repo_id": SPACE_ID, "private": None, "exist_ok": True, "repo_type": "space",
        "space_sdk": "gradio",
    }  # fmt: skip
    upload = calls["upload_folder"]
    assert upload["repo_id"] == SPACE_ID and upload["repo_type"] == "space"
    assert upload["files"] == sorted(space.SPACE_FILES)
    assert upload["commit_message"] == "Upload Korean->English demo"


def test_space_needs_the_model_repo_it_loads(capsys, tmp_path):
    with pytest.raises(SystemExit):
        push_to_hub.parse_args(["--space", SPACE_ID, "--dry_run", "--local_dir", str(tmp_path)])
    assert "--space needs --repo_id" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="invalid repo_id 'not-a-space'"):
        push_to_hub.main(
            ["--space", "not-a-space", "--repo_id", MODEL_REPO_ID, "--dry_run", "--local_dir",
             str(tmp_path / "space")]
        )  # fmt: skip
    assert not (tmp_path / "space").exists()
