#!/bin/sh
# The oracle run, on a machine with Python, torch, transformers and tokenizers (the device
# machine): builds dsv4 from the copied sources, generates the tiny models with
# safetensors, checks they are byte-identical to the local build's (sha256-local.txt),
# runs HF transformers' DeepseekV4ForCausalLM (prefill and token-by-token decode) and HF
# tokenizers, and compares the engine against them.
#
#   run_device.sh OUTDIR [PARTS...]     PARTS: tok f32 q8 q2 k16 (default: all)
#
# tok: tokenizer ids (OUTDIR/tokenizer_hf.txt, from ./vocab.json); f32/q8/q2: oracle
# logits (OUTDIR/tiny-Q.logits, tiny-Q-decode.logits; f32 also per-layer hidden states);
# k16: informational run with indexer top-k 16 < 112 compressed rows (selection active).
set -u
OUT=$1
shift
PARTS=${*:-tok f32 q8 q2 k16}
B=build
mkdir -p $B "$OUT"
echo "== machine: $(nproc) cpus; $(python3 --version 2>&1); $(cc --version | head -1)"
python3 -c 'import torch, transformers, tokenizers, safetensors; print("== torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "safetensors", safetensors.__version__, "cuda", torch.cuda.is_available())'
t0=$(date +%s)
cc -O2 -std=c11 -D_GNU_SOURCE -Iengine engine/*.c -o $B/dsv4 -lm -lpthread || { echo "BUILD FAILED"; exit 1; }
echo "== built dsv4 in $(( $(date +%s) - t0 )) s"
toks_of() { python3 -c "import struct,sys; f=open(sys.argv[1],'rb'); f.read(8); v,n,V,_=struct.unpack('<4I',f.read(16)); print(','.join(map(str,struct.unpack('<%di'%n,f.read(4*n)))))" "$1"; }
for part in $PARTS; do
  case $part in
  tok)
    echo "== tokenizer"
    python3 tests/oracle/tokenizer_ref.py --vocab vocab.json --out "$OUT/tokenizer_hf.txt" ;;
  f32|q8|q2)
    q=$part
    $B/dsv4 mkmodel --preset tiny --quant $q --seed 1 -q -o $B/tiny-$q.gguf --safetensors $B/tiny-$q || exit 1
    (cd $B && sha256sum tiny-$q.gguf tiny-$q/model.safetensors tiny-$q/config.json)
    for f in tiny-$q.gguf tiny-$q/model.safetensors; do
      if grep -q "$(cd $B && sha256sum $f)" tests/oracle/sha256-local.txt; then echo "== $f identical to the local build"; else echo "== $f DIFFERS from the local build"; fi
    done
    echo "== oracle tiny-$q"
    extra=""
    [ $q = f32 ] && extra="--hidden-out $OUT/tiny-f32-hidden.f16"
    PYTHONUNBUFFERED=1 python3 tests/oracle/oracle.py --model-dir $B/tiny-$q --n-tokens 448 --seed 1234 \
      --out "$OUT/tiny-$q.logits" --decode-out "$OUT/tiny-$q-decode.logits" $extra
    toks=$(toks_of "$OUT/tiny-$q.logits")
    $B/dsv4 logits -m $B/tiny-$q.gguf --tokens "$toks" --exact -o $B/engine-$q.logits
    $B/dsv4 logits -m $B/tiny-$q.gguf --tokens "$toks" --exact --decode -o $B/engine-$q-decode.logits
    python3 tests/oracle/compare.py "$OUT/tiny-$q.logits" $B/engine-$q.logits
    python3 tests/oracle/compare.py "$OUT/tiny-$q.logits" $B/engine-$q-decode.logits
    python3 tests/oracle/compare.py "$OUT/tiny-$q.logits" "$OUT/tiny-$q-decode.logits" ;;
  k16)
    echo "== informational: indexer top-k 16 < 112 entries (selection active; ties may differ)"
    $B/dsv4 mkmodel --preset tiny --quant f32 --seed 1 --index-topk 16 -q -o $B/tiny-k16.gguf --safetensors $B/tiny-k16
    PYTHONUNBUFFERED=1 python3 tests/oracle/oracle.py --model-dir $B/tiny-k16 --n-tokens 448 --seed 1234 --out "$OUT/tiny-k16.logits"
    $B/dsv4 logits -m $B/tiny-k16.gguf --tokens "$(toks_of "$OUT/tiny-k16.logits")" --exact -o $B/engine-k16.logits
    python3 tests/oracle/compare.py "$OUT/tiny-k16.logits" $B/engine-k16.logits ;;
  esac
done
echo "== done in $(( $(date +%s) - t0 )) s"
