#!/usr/bin/env python3
"""Export the tokenizer of a GGUF file (tokenizer.ggml.tokens / token_type / merges) as
JSON, with the Python standard library only:

    gguf_vocab.py MODEL.gguf > vocab.json

The GGUF reader here is independent of the engine's (it reads the metadata block only)."""
import json
import struct
import sys

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q", 12: "<d"}


def read_meta(path):
    f = open(path, "rb")

    def rd(fmt):
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

    def rstr():
        n = rd("<Q")
        return f.read(n).decode("utf-8", "surrogateescape")

    def value(t):
        if t == 8:
            return rstr()
        if t == 9:
            et, n = rd("<I"), rd("<Q")
            return [value(et) for _ in range(n)]
        return rd(SCALAR[t])

    assert f.read(4) == b"GGUF" and rd("<I") == 3
    rd("<Q")
    n_kv = rd("<Q")
    meta = {}
    for _ in range(n_kv):
        k = rstr()
        meta[k] = value(rd("<I"))
    return meta


def main():
    meta = read_meta(sys.argv[1])
    json.dump({"tokens": meta["tokenizer.ggml.tokens"], "types": meta["tokenizer.ggml.token_type"],
               "merges": meta.get("tokenizer.ggml.merges", []), "pre": meta.get("tokenizer.ggml.pre")},
              sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
