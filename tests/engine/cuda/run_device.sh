#!/bin/bash
# The CUDA backend's full check on a GPU machine: op tests, whole-model agreement with the
# CPU for the tiny and small presets in f32/q8/q2/q4 (prefill, decode, 64 greedy steps),
# the dsv4 command with --cuda, compute-sanitizer memcheck and racecheck on the tiny
# model, and a full-size flash-preset run (weights generated on the GPU) with its decode
# speed. Every step has a time limit; logs go to OUTDIR as they are written.
#
#   run_device.sh BINDIR OUTDIR [PARTS...]   PARTS: ops tiny small cli sanitize flash
#
# BINDIR holds dsv4 (built with `make cuda`) and dsv4-cuda-tests. When they cannot run on
# this machine they are rebuilt from the sources with nvcc and cc (sm_90 only).
set -u
BIN=$1
OUT=$2
shift 2
PARTS=${*:-ops tiny small cli sanitize flash}
W=/tmp/dsv4-cuda-run
mkdir -p "$W" "$OUT"
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 )) s]"; }
echo "== $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1); $(nproc) cpus"
if ! "$BIN/dsv4-cuda-tests" probe; then
  echo "== prebuilt binaries do not run here: building with nvcc (sm_90)"
  B=$W/build
  mkdir -p $B
  for f in engine/cuda/*.cu; do
    nvcc -std=c++17 -O3 -gencode arch=compute_90,code=sm_90 -Iengine -c "$f" -o "$B/$(basename "$f" .cu).o" &
  done
  wait
  CU=$(dirname "$(dirname "$(command -v nvcc)")")
  LIBS="-L$CU/lib64 -L$CU/targets/x86_64-linux/lib -lcudart_static -lstdc++ -ldl -lrt -lpthread -lm"
  SRCS=$(ls engine/*.c | grep -v main.c)
  cc -O2 -std=c11 -ffp-contract=off -D_GNU_SOURCE -DDSV4_HAVE_CUDA -Iengine engine/main.c $SRCS $B/*.o -o $B/dsv4 $LIBS &&
    cc -O2 -std=c11 -ffp-contract=off -D_GNU_SOURCE -Iengine tests/engine/cuda/test_backend_ops.c $SRCS $B/*.o -o $B/dsv4-cuda-tests \
      $LIBS || { echo "BUILD FAILED"; exit 1; }
  BIN=$B
  "$BIN/dsv4-cuda-tests" probe || exit 1
fi
D=$BIN/dsv4
X=$BIN/dsv4-cuda-tests

# models, generated in the background while the op tests run
gen() { "$D" mkmodel --preset "$1" --quant "$2" --seed 5 -q -o "$W/$1-$2.gguf" && echo "$1-$2" >>"$W/made"; }
rm -f "$W/made"
for q in f32 q8 q2 q4; do gen tiny $q & done
for q in q2 f32 q8 q4; do gen small $q & done

has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
wait_model() { for _ in $(seq 1 300); do grep -qx "$1" "$W/made" 2>/dev/null && return 0; sleep 1; done; return 1; }

if has ops; then
  echo "== op tests $(el)"
  timeout 240 "$X" ops >"$OUT/ops.txt" 2>&1
  echo "ops exit $?"
  grep -E "FAIL|op tests:" "$OUT/ops.txt"
fi

run_model() { # preset quant extra-args...
  local p=$1 q=$2
  shift 2
  wait_model "$p-$q" || { echo "model $p-$q: not generated"; return; }
  timeout 180 "$X" model "$W/$p-$q.gguf" --tokens 300 --gen 64 "$@" 2>&1 | tee -a "$OUT/models.txt" | grep -E "^model|first|error"
}
if has tiny; then
  echo "== tiny models $(el)"
  for q in f32 q8 q2 q4; do
    run_model tiny $q
    run_model tiny $q --topk 16
  done
  run_model tiny q8 --sim --topk 16
fi
if has small; then
  echo "== small models $(el)"
  for q in f32 q8 q4 q2; do run_model small $q; done
  run_model small q8 --topk 300
  run_model small q2 --sim
  run_model small f32 --sim
fi
if has cli; then
  echo "== dsv4 command $(el)"
  wait_model tiny-q8
  TOK=$(seq -s, 0 160)
  timeout 60 "$D" logits -m "$W/tiny-q8.gguf" --tokens "$TOK" --exact --top 3 >"$W/cpu.txt" 2>/dev/null
  timeout 60 "$D" logits --cuda -m "$W/tiny-q8.gguf" --tokens "$TOK" --exact --top 3 >"$W/gpu.txt" 2>"$OUT/cli-err.txt"
  echo "logits --cuda: $(wc -l <"$W/gpu.txt") lines; top-1 ids equal on $(paste "$W/cpu.txt" "$W/gpu.txt" | awk -F'\t' '{split($3,a,":"); split($8,b,":"); if (a[1]==b[1]) n++} END {print n+0}') positions"
  timeout 60 "$D" run -m "$W/tiny-q8.gguf" -p "The quick brown fox" -n 48 --temp 0 --exact >"$W/run-cpu.txt" 2>/dev/null
  timeout 60 "$D" run --cuda -m "$W/tiny-q8.gguf" -p "The quick brown fox" -n 48 --temp 0 --exact >"$W/run-gpu.txt" 2>>"$OUT/cli-err.txt"
  cmp -s "$W/run-cpu.txt" "$W/run-gpu.txt" && echo "run --cuda: greedy text equals the CPU's" || echo "run --cuda: text DIFFERS"
  cp "$W/run-gpu.txt" "$OUT/run-gpu.txt"
  for t in "0.8 --top-k 40 --top-p 0.95" "1.0" "1.5 --top-p 0.9"; do # sampling on each backend
    timeout 60 "$D" run -m "$W/tiny-q8.gguf" -p "The quick brown fox" -n 64 --temp $t --seed 11 --exact >"$W/sc.txt" 2>/dev/null
    timeout 60 "$D" run --cuda -m "$W/tiny-q8.gguf" -p "The quick brown fox" -n 64 --temp $t --seed 11 --exact \
      >"$W/sg.txt" 2>>"$OUT/cli-err.txt"
    cmp -s "$W/sc.txt" "$W/sg.txt" && echo "run --cuda --temp $t: sampled text equals the CPU's" ||
      echo "run --cuda --temp $t: sampled text DIFFERS"
  done
fi
if has sanitize; then
  echo "== compute-sanitizer $(el)"
  wait_model tiny-q2
  TOK=$(seq -s, 0 139)
  for tool in memcheck racecheck; do
    timeout 200 compute-sanitizer --tool $tool --error-exitcode 9 "$D" logits --cuda -m "$W/tiny-q2.gguf" \
      --tokens "$TOK" --topk 8 -o "$W/san.logits" >"$OUT/sanitizer-$tool.txt" 2>&1
    echo "$tool (prefill 140 tokens, indexer top-8, simulation on): exit $? - $(tail -1 "$OUT/sanitizer-$tool.txt")"
  done
  timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$D" logits --cuda -m "$W/tiny-q2.gguf" \
    --tokens "$(seq -s, 0 133)" --topk 8 --decode --exact -o "$W/san2.logits" >"$OUT/sanitizer-memcheck-decode.txt" 2>&1
  echo "memcheck (decode 134 tokens): exit $? - $(tail -1 "$OUT/sanitizer-memcheck-decode.txt")"
fi
if has flash; then
  echo "== flash preset, full dimensions, random weights on the GPU $(el)"
  "$D" mkmodel --preset flash --quant q2 --zeros -q -o "$W/flash-q2.gguf" && ls -ls "$W/flash-q2.gguf"
  for mode in --exact --sim; do
    timeout 150 "$D" bench --cuda --random-weights 7 -m "$W/flash-q2.gguf" --prompt 16 --gen 64 $mode 2>&1 |
      grep -v "loading weights" | tee -a "$OUT/flash-bench.txt"
  done
  timeout 120 "$D" run --cuda --random-weights 7 -m "$W/flash-q2.gguf" -p "Hello" -n 16 --temp 0 2>&1 |
    grep -v "loading weights" | tee "$OUT/flash-run.txt" | tail -3
  nvidia-smi --query-gpu=memory.used --format=csv,noheader
fi
echo "== done $(el)"
