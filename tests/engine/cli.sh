#!/bin/sh
# Smoke tests of the dsv4 command: mkmodel, info (also on the full Flash layouts, written
# as sparse files, and on files from tests/engine/synth_gguf.py, an independent writer of
# the public layout), bad files, logits prefill = decode, run, usage errors.
# Usage: cli.sh DSV4_BINARY WORKDIR
set -u
B=$1
W=$2
rm -rf "$W"
mkdir -p "$W"
fails=0
ok() { echo "  ok   $1"; }
bad() { echo "  FAIL $1"; fails=$((fails + 1)); }
check() { # name, expected status, command...
    name=$1 want=$2
    shift 2
    "$@" >"$W/out" 2>"$W/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else bad "$name (status $got, expected $want): $(head -c 300 "$W/err")"; fi
}

check "mkmodel tiny q8" 0 "$B" mkmodel --preset tiny --quant q8 --seed 1 -q -o "$W/tiny.gguf"
check "info prints the tensor table" 0 "$B" info "$W/tiny.gguf"
grep -q "blk.4.ffn_down_exps.weight" "$W/out" && grep -q "^totals by type" "$W/out" || bad "info output lacks the table"
check "info --validate" 0 "$B" info --validate "$W/tiny.gguf"
head -c 100000 "$W/tiny.gguf" >"$W/trunc.gguf"
check "info on a truncated file fails" 1 "$B" info "$W/trunc.gguf"
[ "$(wc -l <"$W/err")" -eq 1 ] && grep -q "truncated" "$W/err" || bad "truncation error is not one clear line: $(cat "$W/err")"
printf 'not a model at all' >"$W/junk.gguf"
check "info on a non-GGUF file fails" 1 "$B" info "$W/junk.gguf"
grep -q "bad magic" "$W/err" || bad "junk error: $(cat "$W/err")"
check "info on a missing file fails" 1 "$B" info "$W/none.gguf"

TOK=0,5,17,300,42,7,7,7,99,123,1,2,3,250,251,252,253,254,255,256,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25
check "logits prefill" 0 "$B" logits -m "$W/tiny.gguf" --tokens $TOK --exact -o "$W/p.logits"
check "logits decode" 0 "$B" logits -m "$W/tiny.gguf" --tokens $TOK --exact --decode -o "$W/d.logits"
cmp -s "$W/p.logits" "$W/d.logits" && ok "prefill and decode logits are identical" || bad "prefill and decode differ"
check "logits with the simulation" 0 "$B" logits -m "$W/tiny.gguf" --tokens $TOK -o "$W/s.logits"
cmp -s "$W/p.logits" "$W/s.logits" && bad "simulation changed nothing" || ok "simulation changes the logits"
check "logits of a prompt" 0 "$B" logits -m "$W/tiny.gguf" -p "Hello world" --top 3
[ "$(wc -l <"$W/out")" -ge 3 ] || bad "logits -p printed too little"
check "logits rejects a bad id" 1 "$B" logits -m "$W/tiny.gguf" --tokens 1,99999
check "tokenize" 0 "$B" tokenize -m "$W/tiny.gguf" -p "Hello world"
check "run greedy" 0 "$B" run -m "$W/tiny.gguf" -p "The quick brown fox" -n 12 --temp 0
cp "$W/out" "$W/run1"
check "run greedy again" 0 "$B" run -m "$W/tiny.gguf" -p "The quick brown fox" -n 12 --temp 0 -t 1
cmp -s "$W/out" "$W/run1" && ok "greedy generation is reproducible" || bad "greedy generation differs"
check "run sampled" 0 "$B" run -m "$W/tiny.gguf" -p "x" -n 8 --temp 0.9 --top-k 40 --top-p 0.9 --seed 7
if "$B" run -m "$W/tiny.gguf" -p x --chat -n 1 >/dev/null 2>"$W/err"; then
    check "logits of a chat prompt" 0 "$B" logits -m "$W/tiny.gguf" -p "What is 2+2?" --chat --top 1
    # BOS, <｜User｜>, the text, <｜Assistant｜>, </think>: the markers are control tokens
    n=$(wc -l <"$W/out")
    first=$(head -1 "$W/out" | cut -f2)
    [ "$n" -ge 5 ] && [ "$first" = 0 ] && ok "chat prompt starts with BOS ($n tokens)" || bad "chat prompt: $(cut -f2 "$W/out" | tr '\n' ' ')"
    check "run --chat --thinking" 0 "$B" run -m "$W/tiny.gguf" -p "hi" --chat --thinking -n 4
else
    grep -q "no dsml renderer" "$W/err" && echo "  skip chat: this build has no dsml renderer" || bad "run --chat: $(cat "$W/err")"
fi
check "usage: no command" 2 "$B"
check "usage: unknown option" 2 "$B" logits -m "$W/tiny.gguf" --bogus
check "usage: mkmodel without -o" 2 "$B" mkmodel --preset tiny
check "mkmodel rejects an unknown preset" 1 "$B" mkmodel --preset huge -o "$W/x.gguf"

# Full-size layouts as sparse files (header only): a few hundred KB on disk each.
for q in q2 q4; do
    if "$B" mkmodel --preset flash --quant $q --zeros -q -o "$W/flash-$q.gguf" 2>"$W/err"; then
        check "info --validate on the flash $q layout" 0 "$B" info --validate "$W/flash-$q.gguf"
        grep -q "1328 tensors bound" "$W/out" || bad "flash $q: $(cat "$W/out")"
    else
        echo "  skip flash $q layout: cannot create an 81-153 GB sparse file here ($(cat "$W/err"))"
    fi
    rm -f "$W/flash-$q.gguf"
done
if command -v python3 >/dev/null 2>&1; then
    for l in ds4-flash-q2 ds4-flash-q4; do
        if python3 "$(dirname "$0")/synth_gguf.py" --layout $l --out "$W/synth.gguf" --zeros >/dev/null 2>"$W/err"; then
            check "info --validate on synth_gguf.py's $l" 0 "$B" info --validate "$W/synth.gguf"
        else
            echo "  skip $l: synth_gguf.py failed ($(tail -1 "$W/err"))"
        fi
        rm -f "$W/synth.gguf"
    done
else
    echo "  skip synth_gguf.py layouts: no python3"
fi
rm -rf "$W"
if [ $fails -ne 0 ]; then
    echo "dsv4 command: $fails failure(s)"
    exit 1
fi
echo "dsv4 command: all passed"
