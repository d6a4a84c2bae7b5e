"""Run a staged Space's app.py against a local model: translate, then serve the page once.

    space_check.py STAGED_SPACE_DIR MODEL_DIR

Prints DEFAULT: the model the app loads without --model_dir, RESULT: English, n-best rows and
heatmap size, PAGE: the page's HTTP status, and FONT: the web font's HTTP status and whether
its bytes are the app's font file. Run by tests/test_app.py without the package
(helpers.run_without_package), so the app can use only the modules the Space carries.
"""

import json
import socket
import sys
import urllib.request


def main(staged: str, model_dir: str) -> None:
    try:
        import hf_seq2seq_lstm  # noqa: F401

        raise SystemExit("the package must not be importable here")
    except ImportError:
        pass
    sys.path.insert(0, staged)
    import app

    print("DEFAULT:" + json.dumps(app.parse_args([]).model_dir))
    translator = app.Translator.load(model_dir)
    result = app.translate_text(
        translator, "오늘 날씨가 좋네요.\n지하철역이 어디예요?", app.Decoding()
    )
    print("RESULT:" + json.dumps([result.english, result.nbest, result.heatmap.size]))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = app.build_demo([translator])
    style = app.page_style()
    demo.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **style
    )
    print("PAGE:" + str(urllib.request.urlopen(demo.local_url).status))
    font_url = demo.local_url + style["css"].split("url('")[1].split("')")[0]
    with urllib.request.urlopen(font_url) as font:
        print("FONT:" + json.dumps([font.status, font.read() == app.web_font_file().read_bytes()]))
    demo.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
