#!/usr/bin/env bash
# The main job on a fresh machine: set up, train on the built-in sample corpus, translate.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. scripts/setup_env.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
OUT=${OUT:-outputs/ko-en-lstm}
python train.py --output_dir "$OUT" "$@"
printf '%s\n' "안녕하세요, 만나서 반가워요." "이거 얼마예요?" "내일 몇 시에 만날까?" |
  hf-seq2seq-translate "$OUT" --attention_png "$OUT/attention_quickstart.png"
