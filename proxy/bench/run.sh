#!/bin/sh
# dsml-proxy benchmark: a local upstream (fakeup) streams a fixed completion; the load
# generator (proxy-load) measures it directly and through the proxy.
#   usage: run.sh PROXY_BIN FAKEUP_BIN LOAD_BIN
set -eu
PROXY=$1 FAKEUP=$2 LOAD=$3
here=$(cd "$(dirname "$0")" && pwd)
rec="$here/../../tests/proxy/rec"
tmp=$(mktemp -d)
fpid="" ppid=""
cleanup() { kill $fpid $ppid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
start_proxy() {
  rm -f "$tmp/px"
  "$PROXY" --upstream "http://127.0.0.1:$fu" --listen 127.0.0.1:0 --port-file "$tmp/px" --quiet --max-streams 20000 & ppid=$!
  while [ ! -s "$tmp/px" ]; do sleep 0.05; done
  px=$(cat "$tmp/px")
}
stop_proxy() { kill "$ppid"; wait "$ppid" 2>/dev/null || true; ppid=""; }

"$FAKEUP" --rec "$rec" --port-file "$tmp/fu" 2>/dev/null & fpid=$!
while [ ! -s "$tmp/fu" ]; do sleep 0.05; done
fu=$(cat "$tmp/fu")
start_proxy

echo "dsml-proxy benchmark ($(nproc) cores; upstream: fakeup on loopback)"
"$LOAD" lat "$px" 10 50 2 >/dev/null   # warm-up
# latency STREAMS: 300 pieces per stream, 5 ms apart; 3 alternating runs, medians
latency() {
  D50="" D99="" P50="" P99=""
  for i in 1 2 3; do
    d=$("$LOAD" lat "$fu" "$1" 300 5); p=$("$LOAD" lat "$px" "$1" 300 5)
    echo "  direct: $d"; echo "  proxy:  $p"
    D50="$D50 $(field "$d" p50_us)"; D99="$D99 $(field "$d" p99_us)"
    P50="$P50 $(field "$p" p50_us)"; P99="$P99 $(field "$p" p99_us)"
  done
  d50=$(median3 $D50) d99=$(median3 $D99) p50=$(median3 $P50) p99=$(median3 $P99)
}
latency 1;  a50=$d50 a99=$d99 b50=$p50 b99=$p99
latency 10
rd=$("$LOAD" rps "$fu" 32 5); r=$("$LOAD" rps "$px" 32 5)
echo "  direct: $rd"; echo "  proxy:  $r"
stop_proxy

held=0 per=0 idle=0
for n in 1000 5000 8000; do
  start_proxy
  sleep 0.3
  idle=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$ppid/status)
  h=$("$LOAD" hold "$px" "$n" "$ppid")
  echo "  hold $n (fresh proxy): $h"
  started=$(field "$h" started); failed=$(field "$h" failed)
  if [ "$started" = "$n" ] && [ "$failed" = 0 ]; then held=$n; [ "$n" = 5000 ] && per=$(field "$h" per_stream_bytes); fi
  stop_proxy
  sleep 1
done
printf '\n%-48s %12s %12s\n' "measure (3 processes share 2 cores)" "direct" "via proxy"
printf '%-48s %12s %12s\n' "1 stream: chunk latency p50 / p99 (µs)" "$a50 / $a99" "$b50 / $b99"
printf '%-48s %12s %12s\n' "1 stream: added per chunk p50 / p99 (µs)" "" "$((b50 - a50)) / $((b99 - a99))"
printf '%-48s %12s %12s\n' "10 streams: chunk latency p50 / p99 (µs)" "$d50 / $d99" "$p50 / $p99"
printf '%-48s %12s %12s\n' "10 streams: added per chunk p50 / p99 (µs)" "" "$((p50 - d50)) / $((p99 - d99))"
printf '%-48s %12s %12s\n' "small non-streamed requests/s (32 connections)" "$(field "$rd" rps)" "$(field "$r" rps)"
printf '%-48s %12s %12s\n' "concurrent streams held (tried 1000/5000/8000)" "" "$held"
printf '%-48s %12s %12s\n' "memory per open stream at 5000 (bytes)" "" "$per"
printf '%-48s %12s %12s\n' "proxy RSS idle (KiB)" "" "$idle"
echo "goals: p99 added < 200 µs/chunk, >= 5000 streams, <= 65536 bytes/stream"
