#!/usr/bin/env python3
"""Compare two logits files (engine/logits_file.h format) position by position:

    compare.py REFERENCE.logits OTHER.logits [--bound 1e-4]

Prints the relative error ||other - ref|| / ||ref|| per position (max, mean, worst
positions) and argmax agreement; exits 1 if the tokens differ or a position exceeds the
bound. Standard library only."""
import argparse
import math
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        if f.read(8) != b"DSV4LOGT":
            sys.exit("%s: not a logits file" % path)
        ver, n, v, _ = struct.unpack("<4I", f.read(16))
        toks = list(struct.unpack("<%di" % n, f.read(4 * n)))
        data = struct.unpack("<%df" % (n * v), f.read(4 * n * v))
    return toks, v, [data[i * v:(i + 1) * v] for i in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("other")
    ap.add_argument("--bound", type=float, default=1e-4)
    a = ap.parse_args()
    t1, v1, r = read(a.ref)
    t2, v2, o = read(a.other)
    if t1 != t2 or v1 != v2:
        sys.exit("token ids or vocabulary differ")
    errs, agree = [], 0
    for x, y in zip(r, o):
        num = math.sqrt(sum((b - c) ** 2 for b, c in zip(x, y)))
        den = math.sqrt(sum(b * b for b in x))
        errs.append(num / den if den else num)
        agree += max(range(v1), key=lambda i: x[i]) == max(range(v1), key=lambda i: y[i])
    worst = sorted(range(len(errs)), key=lambda i: -errs[i])[:5]
    print("%s vs %s: %d positions, relative error max %.3e mean %.3e, argmax agree %d/%d, worst %s" % (
        a.other, a.ref, len(errs), max(errs), sum(errs) / len(errs), agree, len(errs),
        ", ".join("%d:%.2e" % (i, errs[i]) for i in worst)))
    sys.exit(1 if max(errs) > a.bound else 0)


if __name__ == "__main__":
    main()
