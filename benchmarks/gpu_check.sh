#!/usr/bin/env bash
# Everything to measure on a lent GPU machine, in one call (time on one is short):
#
#   bash benchmarks/gpu_check.sh OUT_DIR [train.py flags...]
#
# 1. bench_train.py on the GPU: our model (fp32 and bf16 autocast) against the hand-written
#    reference (fp32), same batches, alternating rounds -> OUT_DIR/bench_train.json;
# 2. train.py on the built-in corpus with bf16 autocast for GPU_CHECK_STEPS steps (default 1000,
#    about 4.4 epochs), validation and beam-5 test scores -> OUT_DIR/train/all_results.json;
# 3. recipes/score_tsv.py: beam-5 decoding of the built-in test.tsv (or GPU_CHECK_TEST_TSV) on
#    the GPU, sentences/s -> OUT_DIR/decode.json.
# Set up first (`. scripts/setup_env.sh`); ../shared must be beside the checkout (the reference).
# GPU_CHECK_DEVICE=cpu, a small GPU_CHECK_STEPS, GPU_CHECK_BENCH_FLAGS, a short
# GPU_CHECK_TEST_TSV and tiny train.py flags make a CPU smoke run of the same path
# (tests/test_recipe.py does).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR [train.py flags...]}
shift
device=${GPU_CHECK_DEVICE:-cuda}
steps=${GPU_CHECK_STEPS:-1000}
mkdir -p "$out"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
python - "$device" <<'PY'
import sys, torch, transformers
device = torch.device(sys.argv[1])
name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
print(f"device: {name}; torch {torch.__version__}, transformers {transformers.__version__}")
PY
# shellcheck disable=SC2086
(cd "$here/benchmarks" && python bench_train.py --device "$device" --variants fp32 bf16 \
  --json "$out/bench_train.json" ${GPU_CHECK_BENCH_FLAGS:-})
started=$(date +%s)
python "$here/train.py" --output_dir "$out/train" --overwrite_output_dir --do_predict \
  --mixed_precision bf16 --max_train_steps "$steps" --eval_steps "$steps" \
  --eval_max_samples 400 --eval_num_beams 1 --logging_steps 50 --seed 1234 "$@"
echo "train.py: $(( $(date +%s) - started )) s for $steps steps, scoring included"
test_tsv=${GPU_CHECK_TEST_TSV:-$(python -c 'from hf_seq2seq_lstm.data import builtin_corpus_files as f; print(f()["test"])')}
python "$here/recipes/score_tsv.py" "$out/train" "$test_tsv" --num_beams 5 --device "$device" \
  | tee "$out/decode.json"
