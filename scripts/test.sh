#!/usr/bin/env bash
# Sets up a virtual environment (torch 2.13.0 CPU first, then the package) and runs lint + tests.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0           # the CPU wheel; an unpinned torch pulls CUDA
python -m pip install -q -e ".[test]"
ruff check .
ruff format --check .
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python -m pytest -q "$@"
