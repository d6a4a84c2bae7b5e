#!/usr/bin/env bash
# Sourced by the other scripts: a virtual environment with torch 2.13.0 (CPU) installed before
# everything else (an unpinned torch pulls a multi-GB CUDA build), then this package with the
# extras named in HF_SEQ2SEQ_EXTRAS (default "test"; CI adds "demo" for app.py's tests).
set -euo pipefail
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[${HF_SEQ2SEQ_EXTRAS:-test}]"
export HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false
