"""The Gradio demo (app.py) as a Hugging Face Space that loads a published model repository.

A Space cannot install this package, so `stage_space` copies the package modules that app.py
imports (inference.py, quality.py, ...), and those they import in turn, beside it as a small
`hf_seq2seq_lstm/` folder: app.py runs there as it is, no line rewritten. `default_model.txt`
names the model repository the page loads when no --model_dir is given (app.py reads it),
`requirements.txt` and `packages.txt` say what the Space installs, and README.md holds the
metadata the Hub builds the Space from.
`publish_space` stages and uploads through the same path as a model (`hub.stage_then_upload`).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import os
import shutil
from pathlib import Path

from huggingface_hub import SpaceCard, SpaceCardData

from .hub import PublishError, check_repo_id, resolve_license, stage_folder, stage_then_upload
from .model_card import PACKAGE_NAME, min_transformers_version

PACKAGE_DIR = Path(__file__).parent
# The model's own code travels with the model (its repository's remote code), never in a Space.
MODEL_CODE_MODULES = (
    "configuration_seq2seq_lstm",
    "modeling_seq2seq_lstm",
    "pipeline_seq2seq_lstm",
)
# app.py reads this file, beside itself, for its default model.
DEFAULT_MODEL_FILE = "default_model.txt"
SPACE_FILES = (
    "app.py",
    PACKAGE_NAME,
    DEFAULT_MODEL_FILE,
    "requirements.txt",
    "packages.txt",
    "README.md",
)
SPACE_PACKAGE_DOCSTRING = (
    f'"""The modules of `{PACKAGE_NAME}` that app.py imports, copied here by '
    '`push_to_hub.py --space`:\na Space cannot install the package itself."""\n'
)
# What the Space's app.py and the copied modules import besides gradio (which the Space's
# sdk_version installs), and what the model's remote code needs. Upper bounds keep a rebuilt
# Space on tested major versions.
SPACE_REQUIREMENTS = (
    "torch>=2.1,<3",
    "transformers>={min_transformers},<6",
    "tokenizers>=0.22,<1",
    "safetensors>=0.4,<1",
    "matplotlib>=3.7,<4",
    "fonttools>=4.28,<5",
    "numpy>=1.24,<3",
    "pillow>=10,<13",
    "huggingface_hub>=1.0,<3",
)
# Debian's NanumGothic, where plotting.DEBIAN_KOREAN_FONT looks: Hangul on the heatmap axes and,
# served as a web font by app.py, on the page.
SPACE_APT_PACKAGES = ("fonts-nanum",)


def space_requirements() -> list[str]:
    """The Space's requirements.txt lines: bounded versions of what its app.py imports."""
    return [line.format(min_transformers=min_transformers_version()) for line in SPACE_REQUIREMENTS]


def gradio_sdk_version() -> str:
    """The installed gradio's version: the Space runs the gradio the app was tried with."""
    try:
        return importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:
        raise PublishError(
            "staging a Space needs gradio, whose version becomes the Space's sdk_version: "
            "pip install -e '.[demo]'"
        ) from None


def app_package_modules(app_file: str | os.PathLike) -> list[str]:
    """The package modules `app_file` imports, directly or through one another, by name
    ("inference", ...), in the order they are first imported.

    Raises:
        PublishError: an import of the package's top level or of a subpackage (a Space gets
            single modules), or of a module that needs the model's code (MODEL_CODE_MODULES),
            which a Space loads from the model repository instead.
    """
    modules: list[str] = []

    def visit(source_file: Path, importer: str) -> None:
        # importer: how the messages name what imports here ("app.py imports 'x', which").
        for statement, imported in _package_imports(source_file):
            name = imported.removeprefix(f"{PACKAGE_NAME}.")
            if imported == PACKAGE_NAME or "." in name:
                raise PublishError(
                    f"{importer} imports {imported!r} ({statement!r}); a Space gets copies of "
                    f"single modules only: import from `{PACKAGE_NAME}.<module>`"
                )
            if name in MODEL_CODE_MODULES:
                raise PublishError(
                    f"{importer} imports other parts of the package that a Space must not carry "
                    f"({statement!r}): the model's code comes with the model, from its repository"
                )
            module_file = PACKAGE_DIR / f"{name}.py"
            if not module_file.is_file():
                raise PublishError(f"{importer} imports {imported!r}, which has no {module_file}")
            if name not in modules:
                modules.append(name)
                visit(module_file, f"{importer} imports {imported!r}, which")

    visit(Path(app_file), str(app_file))
    return modules


def make_space_card(space_id: str, model_repo_id: str, license: str | None = None) -> SpaceCard:
    """The Space's README.md: the metadata the Hub builds it from, and what the page does."""
    card_data = SpaceCardData(
        title=space_id.split("/")[-1],
        sdk="gradio",
        sdk_version=gradio_sdk_version(),
        app_file="app.py",
        models=[model_repo_id],
        # Optional for a Space (its code is this package's); validated like the model card's.
        license=resolve_license(license) if license else None,
        short_description="Korean to English RNN translation with its attention heatmap",
        tags=["translation", "seq2seq", "rnn", "attention", PACKAGE_NAME],
    )
    body = f"""# {space_id.split("/")[-1]}

Korean → English translation with [{model_repo_id}](https://huggingface.co/{model_repo_id}), an
RNN encoder-decoder trained with `{PACKAGE_NAME}`. Type Korean (one sentence per line) and press
Translate: the page shows the English, the n-best list with scores and the cross-attention
heatmap of one sentence. Greedy search, beam search and sampling are one click away.

The translation is also an API endpoint:

```python
from gradio_client import Client

print(Client("{space_id}").predict("안녕하세요", api_name="/translate")[0])
```
"""
    return SpaceCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")


def stage_space(
    app_file: str | os.PathLike,
    local_dir: str | os.PathLike,
    space_id: str,
    model_repo_id: str,
    license: str | None = None,
) -> Path:
    """Write the Space's files (SPACE_FILES, nothing else) into `local_dir`, absent or empty.

    Args:
        app_file: the demo, the repository's top-level app.py.
        local_dir: the folder to write; as with `hub.stage_repository`, never left half-written.
        space_id: the Space, "owner/name".
        model_repo_id: the Hub model repository the Space's app loads.
        license: the Space card's licence identifier, if any.

    Returns:
        `local_dir` as a `Path`.
    """
    check_repo_id(space_id)
    check_repo_id(model_repo_id)
    card = make_space_card(space_id, model_repo_id, license)
    modules = app_package_modules(app_file)

    def write(staged: Path) -> None:
        staged.mkdir()
        shutil.copyfile(app_file, staged / "app.py")
        package = staged / PACKAGE_NAME
        package.mkdir()
        (package / "__init__.py").write_text(SPACE_PACKAGE_DOCSTRING, encoding="utf-8")
        for name in modules:
            shutil.copyfile(PACKAGE_DIR / f"{name}.py", package / f"{name}.py")
        (staged / DEFAULT_MODEL_FILE).write_text(f"{model_repo_id}\n", encoding="utf-8")
        (staged / "requirements.txt").write_text("\n".join(space_requirements()) + "\n")
        (staged / "packages.txt").write_text("\n".join(SPACE_APT_PACKAGES) + "\n")
        card.save(staged / "README.md")

    return stage_folder(local_dir, write)


def publish_space(
    app_file: str | os.PathLike,
    space_id: str,
    model_repo_id: str,
    *,
    license: str | None = None,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    dry_run: bool = False,
    local_dir: str | os.PathLike | None = None,
) -> str | Path:
    """Stage the demo as a Space and upload it, or with `dry_run` only stage it.

    Like `hub.publish`: every check runs before anything is sent, and `local_dir` receives the
    uploaded files only once the upload succeeded.

    Returns:
        The commit URL, or `local_dir` for a dry run.
    """
    check_repo_id(model_repo_id)
    stage = functools.partial(
        stage_space, app_file, space_id=space_id, model_repo_id=model_repo_id, license=license
    )
    return stage_then_upload(
        stage,
        space_id,
        token=token,
        private=private,
        revision=revision,
        commit_message=commit_message,
        dry_run=dry_run,
        local_dir=local_dir,
        repo_type="space",
    )


def _package_imports(source_file: Path) -> list[tuple[str, str]]:
    """(statement, module) of every import of the package in `source_file`, relative ones too."""
    tree = ast.parse(source_file.read_text(encoding="utf-8"), filename=str(source_file))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # `from . import x`, `from .x import y`: within the package
                found.append((ast.unparse(node), f"{PACKAGE_NAME}.{node.module or ''}".rstrip(".")))
            elif node.module == PACKAGE_NAME or node.module.startswith(f"{PACKAGE_NAME}."):
                found.append((ast.unparse(node), node.module))
        elif isinstance(node, ast.Import):
            found += [
                (ast.unparse(node), alias.name)
                for alias in node.names
                if alias.name == PACKAGE_NAME or alias.name.startswith(f"{PACKAGE_NAME}.")
            ]
    return found
