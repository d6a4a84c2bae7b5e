#!/usr/bin/env bash
# Sets up the environment (scripts/setup_env.sh), then lint and the test suite, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. scripts/setup_env.sh
ruff check .
ruff format --check .
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python -m pytest -q "$@"
