#!/usr/bin/env bash
# One change from recipes/koen_cpu.sh per row, every row at the same budget, for README's
# ablation table:
#
#   bash recipes/koen_ablation.sh OUT_ROOT [DATA_DIR]   (default: the built-in koen corpus)
#
# ABLATION_EPOCHS (default 3) sets the shared budget; ABLATION_ROWS (default: all, in the order
# below) names the rows to run, e.g. ABLATION_ROWS="scheduled_sampling curriculum". Rows run two at a time with one thread
# each (this machine has two cores), so their wall times are those of a shared machine. Each row
# decodes test.tsv greedily; python recipes/ablation_table.py OUT_ROOT prints the table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${1:?usage: bash recipes/koen_ablation.sh OUT_ROOT [DATA_DIR]}
data=${2:-}
epochs=${ABLATION_EPOCHS:-3}
declare -A rows=(
  [luong]=""
  [attention_none]="--attention none"
  [bahdanau]="--attention bahdanau"
  [gru]="--cell_type gru"
  [scheduled_sampling]="--teacher_forcing_schedule linear --teacher_forcing_end 0.75"
  [curriculum]="--curriculum --curriculum_steps 300"
)
read -r -a order <<< "${ABLATION_ROWS:-luong attention_none bahdanau gru scheduled_sampling curriculum}"
for name in "${order[@]}"; do
  [ -n "${rows[$name]+set}" ] || { echo "error: unknown ablation row $name" >&2; exit 2; }
done
run_row() {
  local name=$1
  # shellcheck disable=SC2086
  bash "$here/koen_cpu.sh" "$root/$name" ${data:+"$data"} --num_train_epochs "$epochs" \
    --eval_steps 1000000 --num_beams 1 --num_threads 1 ${rows[$name]} > "$root/$name.log" 2>&1
}
mkdir -p "$root"
for ((i = 0; i < ${#order[@]}; i += 2)); do
  run_row "${order[i]}" &
  if (( i + 1 < ${#order[@]} )); then run_row "${order[i + 1]}" & fi
  wait
done
python "$here/ablation_table.py" "$root"
