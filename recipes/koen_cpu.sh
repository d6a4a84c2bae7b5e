#!/usr/bin/env bash
# Our best Korean->English model on the shared koen corpus, on a 2-core CPU in <= 45 minutes of
# training: trains on train.tsv, selects on valid.tsv, scores test.tsv with beam search.
#
#   bash recipes/koen_cpu.sh OUT_DIR [DATA_DIR]
#
# DATA_DIR holds train.tsv, valid.tsv and test.tsv (default: ../shared/data/koen beside the
# checkout). RECIPE_MAX_STEPS=N cuts training to N steps (CI smoke runs); extra settings can be
# appended after DATA_DIR and override the recipe's (e.g. --attention none for an ablation).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: bash recipes/koen_cpu.sh OUT_DIR [DATA_DIR] [train.py flags...]}
data=${2:-$here/../shared/data/koen}
shift $(( $# >= 2 ? 2 : 1 ))
for split in train valid test; do
  [ -f "$data/$split.tsv" ] || { echo "error: $data/$split.tsv not found; pass DATA_DIR" >&2; exit 2; }
done
budget=()
if [ -n "${RECIPE_MAX_STEPS:-}" ]; then
  budget=(--max_train_steps "$RECIPE_MAX_STEPS" --eval_steps "$RECIPE_MAX_STEPS"
          --eval_max_samples 16 --max_predict_samples 16)
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), threads: $(nproc)"
started=$(date +%s)
python "$here/train.py" \
  --train_file "$data/train.tsv" --validation_file "$data/valid.tsv" --test_file "$data/test.tsv" \
  --do_predict --dataset_license cc-by-sa-4.0 --output_dir "$out" \
  --cell_type lstm --attention luong --embedding_dim 512 --hidden_dim 512 --num_layers 2 \
  --tie_word_embeddings --share_embeddings --vocab_size 8000 --dropout 0.3 \
  --label_smoothing 0.1 --learning_rate 2e-3 --num_warmup_steps 300 \
  --per_device_train_batch_size 64 --num_train_epochs 22 --eval_steps 454 \
  --eval_max_samples 400 --eval_num_beams 1 --num_beams 5 \
  --mixed_precision bf16 --logging_steps 50 --seed 1234 \
  "${budget[@]}" "$@"
echo "recipe wall time: $(( $(date +%s) - started )) s (training, evaluation and test scoring)"
