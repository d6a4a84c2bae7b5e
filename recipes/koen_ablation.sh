#!/usr/bin/env bash
# One change from recipes/koen_cpu.sh per row, every row under the recipe's 45-minute guard with
# one thread, for README's ablation table:
#
#   bash recipes/koen_ablation.sh OUT_ROOT [DATA_DIR] [train.py flags for every row...]
#
# ABLATION_EPOCHS (default 8: one thread of the 2-core AMD EPYC trains the recipe's GRU 8 epochs
# in 34 minutes, the LSTM in 42) sets every row's nominal epochs; ABLATION_ROWS (default: all, in
# the order below) names the rows to run, e.g. ABLATION_ROWS="recipe bahdanau".
# Rows run two at a time with one thread each (a 2-core machine), validate every epoch (the
# curves) and score test.tsv as the recipe does; python recipes/ablation_table.py OUT_ROOT prints
# the table (and with --plot PNG draws the rows' validation curves in one figure:
# OUT_ROOT/validation_curves.png here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${1:?usage: bash recipes/koen_ablation.sh OUT_ROOT [DATA_DIR] [train.py flags...]}
shift
data=()
if [ $# -gt 0 ] && [[ $1 != --* ]]; then
  data=("$1")
  shift
fi
epochs=${ABLATION_EPOCHS:-8}
declare -A rows=(
  [recipe]=""
  [lstm]="--cell_type lstm"
  [attention_none]="--attention none"
  [bahdanau]="--attention bahdanau"
  [scheduled_sampling]="--teacher_forcing_schedule linear --teacher_forcing_end 0.75"
  [scheduled_sampling_two_pass]="--teacher_forcing_schedule linear --teacher_forcing_end 0.75 --scheduled_sampling_mode two_pass"
  [curriculum]="--curriculum --curriculum_steps 300"
)
all="recipe lstm attention_none bahdanau scheduled_sampling scheduled_sampling_two_pass curriculum"
read -r -a order <<< "${ABLATION_ROWS:-$all}"
for name in "${order[@]}"; do
  [ -n "${rows[$name]+set}" ] || { echo "error: unknown ablation row $name (rows: $all)" >&2; exit 2; }
done
run_row() {
  local name=$1
  shift
  # shellcheck disable=SC2086
  bash "$here/koen_cpu.sh" "$root/$name" "${data[@]}" --num_train_epochs "$epochs" \
    --num_threads 1 ${rows[$name]} "$@" > "$root/$name.log" 2>&1 ||
    { echo "error: row $name failed; see $root/$name.log" >&2; return 1; }
}
mkdir -p "$root"
failed=0
for ((i = 0; i < ${#order[@]}; i += 2)); do
  pids=()
  run_row "${order[i]}" "$@" & pids+=($!)
  if (( i + 1 < ${#order[@]} )); then run_row "${order[i + 1]}" "$@" & pids+=($!); fi
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
done
python "$here/ablation_table.py" "$root" --plot "$root/validation_curves.png"
exit "$failed"
