#!/bin/sh
# run-afl.sh - one AFL++ campaign for one harness (called by `make fuzz`, fuzz/build.mk).
#
#   run-afl.sh TARGET SECONDS INSTANCES OUTDIR AFL_BIN AFL_ASAN_BIN REPRO_BIN DICT SEED_DIR...
#
# Instance 1 (-M main) runs the plain AFL++ build and shows the status screen when stdout is
# a terminal; instances 2..N (-S asanK) run the ASan+UBSan build in the background, logging
# to OUTDIR/asanK.log. SECONDS > 0 stops every instance after that long (afl-fuzz -V);
# SECONDS = 0 runs until Ctrl-C. A second run with the same OUTDIR resumes. At the end every
# crash is listed with the command that reproduces it under libFuzzer + ASan + UBSan.
set -eu
target=$1 seconds=$2 instances=$3 out=$4 afl_bin=$5 asan_bin=$6 repro=$7 dict=$8
shift 8

export AFL_SKIP_CPUFREQ="${AFL_SKIP_CPUFREQ:-1}"
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="${AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES:-1}"
export AFL_TRY_AFFINITY="${AFL_TRY_AFFINITY:-1}"
export AFL_AUTORESUME=1
[ -t 1 ] || export AFL_NO_UI=1

mkdir -p "$out/seeds"
for d in "$@"; do
  [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name README.md -exec cp {} "$out/seeds/" \;
done

limit=""
[ "$seconds" -gt 0 ] && limit="-V $seconds"
pids=""
stop() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
}
trap stop INT TERM

i=2
while [ "$i" -le "$instances" ]; do
  # shellcheck disable=SC2086
  AFL_NO_UI=1 afl-fuzz -i "$out/seeds" -o "$out" -S "asan$i" -m none -x "$dict" $limit \
    -- "$asan_bin" > "$out/asan$i.log" 2>&1 &
  pids="$pids $!"
  i=$((i + 1))
done

echo "fuzz: $target: $instances instance(s) into $out${limit:+ for $seconds s}"
rc=0
# shellcheck disable=SC2086
afl-fuzz -i "$out/seeds" -o "$out" -M main -x "$dict" $limit -- "$afl_bin" || rc=$?
if [ "$seconds" -gt 0 ]; then
  for p in $pids; do wait "$p" || true; done
else
  stop
fi

execs=0
for s in "$out"/*/fuzzer_stats; do
  [ -f "$s" ] || continue
  n=$(sed -n 's/^execs_done *: *//p' "$s")
  execs=$((execs + n))
done
echo "fuzz: $target: $execs executions in total"
found=0
for f in "$out"/*/crashes/id:* "$out"/*/hangs/id:*; do
  [ -f "$f" ] || continue
  found=$((found + 1))
  echo "reproduce: $repro '$f'"
done
if [ "$found" -gt 0 ]; then
  echo "fuzz: $target: $found crash/hang input(s); minimise one with: $repro -minimize_crash=1 -runs=100000 FILE"
  exit 1
fi
echo "fuzz: $target: no crashes"
exit "$rc"
