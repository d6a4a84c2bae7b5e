#!/usr/bin/env bash
# Our best Korean->English model on the koen corpus, on a 2-core CPU in <= 45 minutes of
# training: trains on the training split, selects on validation, scores the test split with
# beam search. The model and optimisation settings are train.py's defaults (measured best on
# this corpus); the recipe adds only what is budget-specific: epochs, evaluation cadence, bf16.
# 16 epochs: the learning rate decays over what the 2-core AMD EPYC trains in 45 minutes (14.2
# epochs of the GRU: the guard stops the rest).
#
#   bash recipes/koen_cpu.sh OUT_DIR [DATA_DIR] [train.py flags...]
#
# DATA_DIR holds train.tsv, valid.tsv and test.tsv; without it (or when the second argument is
# a flag) the corpus is the package's built-in koen corpus, the same pairs. RECIPE_MAX_STEPS=N
# cuts training to N steps (CI smoke runs); extra flags override the recipe's (e.g.
# --attention none for an ablation).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: bash recipes/koen_cpu.sh OUT_DIR [DATA_DIR] [train.py flags...]}
shift
data=()
if [ $# -gt 0 ] && [[ $1 != --* ]]; then
  for split in train valid test; do
    [ -f "$1/$split.tsv" ] || { echo "error: $1/$split.tsv not found; pass DATA_DIR" >&2; exit 2; }
  done
  data=(--train_file "$1/train.tsv" --validation_file "$1/valid.tsv" --test_file "$1/test.tsv"
        --dataset_license cc-by-sa-4.0)
  shift
fi
budget=()
if [ -n "${RECIPE_MAX_STEPS:-}" ]; then
  budget=(--max_train_steps "$RECIPE_MAX_STEPS" --eval_steps "$RECIPE_MAX_STEPS"
          --eval_max_samples 16 --max_predict_samples 16)
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), threads: $(nproc)"
started=$(date +%s)
python "$here/train.py" "${data[@]}" --do_predict --output_dir "$out" \
  --num_train_epochs 16 --max_train_minutes 45 --eval_max_samples 400 --eval_num_beams 1 \
  --average_checkpoints 4 --mixed_precision bf16 --logging_steps 50 --seed 1234 \
  "${budget[@]}" "$@"
echo "recipe wall time: $(( $(date +%s) - started )) s (training, evaluation and test scoring)"
