#!/usr/bin/env python3
"""Command-line tests of the `dsml` tool over the spec vectors (stdlib only).

For every vector in spec/vectors:
  - `dsml parse --chunk N` prints the same message for N in 1, 2, 3, 7, 64 and one-shot;
  - `dsml parse --strict` exits 1 for n_ vectors and for i_ vectors that fail in strict mode,
    and 0 for y_ vectors, and prints offset, line:col and the error code on stderr;
  - `dsml stream`, with the deltas concatenated, gives the message `dsml parse` prints.
Also: usage errors exit 2; --help exits 0.

usage: cli_test.py DSML_BINARY VECTOR_DIR
"""
import json
import os
import subprocess
import sys

dsml, vdir = sys.argv[1], sys.argv[2]
failures = 0
checks = 0


def fail(name, msg):
    global failures
    failures += 1
    print("FAIL %s: %s" % (name, msg), file=sys.stderr)


def run(args, data):
    p = subprocess.run([dsml] + args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr


def options(vec):
    o = vec.get("options", {})
    a = []
    if "dialect" in o:
        a += ["--dialect", o["dialect"]]
    if o.get("thinking"):
        a.append("--thinking")
    if o.get("lookalikes"):
        a.append("--lookalikes")
    if "max_token" in o:
        a += ["--max-token", str(o["max_token"])]
    return a


def concat_stream(sse):
    msg = {"content": "", "reasoning_content": "", "calls": {}}
    finish = None
    for line in sse.decode("utf-8").split("\n"):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        for ch in chunk.get("choices", []):
            d = ch["delta"]
            msg["content"] += d.get("content") or ""
            msg["reasoning_content"] += d.get("reasoning_content") or ""
            for tc in d.get("tool_calls", []):
                c = msg["calls"].setdefault(tc["index"], {"name": "", "arguments": ""})
                if "id" in tc:
                    c["id"] = tc["id"]
                    c["name"] = tc["function"]["name"]
                c["arguments"] += tc["function"].get("arguments", "")
            if ch.get("finish_reason"):
                finish = ch["finish_reason"]
    return msg, finish


for fn in sorted(os.listdir(vdir)):
    if not fn.endswith(".json"):
        continue
    vec = json.load(open(os.path.join(vdir, fn), encoding="utf-8"))
    data = vec["input"].encode("utf-8")
    opts = options(vec)
    rc, ref, err = run(["parse"] + opts, data)
    checks += 1
    if rc != 0:
        fail(fn, "parse exit %d: %s" % (rc, err.decode()))
        continue
    for n in (1, 2, 3, 7, 64):
        checks += 1
        rc, out, err = run(["parse", "--chunk", str(n)] + opts, data)
        if out != ref:
            fail(fn, "--chunk %d output differs" % n)
    strict = vec.get("strict")
    rc, out, err = run(["parse", "--strict"] + opts, data)
    checks += 1
    if strict and "error" in strict:
        if rc != 1 or strict["error"].encode() not in err or b"offset" not in err:
            fail(fn, "--strict: expected exit 1 with %s, got %d %s" % (strict["error"], rc, err.decode()))
    elif rc != 0:
        fail(fn, "--strict: expected exit 0, got %d %s" % (rc, err.decode()))
    # stream concatenation equals the message (the cut-off call is streamed but not in it)
    msg = json.loads(ref)
    rc, sse, err = run(["stream", "--chunk", "5"] + opts, data)
    checks += 1
    got, finish = concat_stream(sse)
    complete = [c for i, c in sorted(got["calls"].items())]
    if finish == "length":
        complete = complete[:len(msg.get("tool_calls", []))]
    want_calls = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                  for c in msg.get("tool_calls", [])]
    got_calls = [{"name": c["name"], "arguments": c["arguments"]} for c in complete]
    if rc != 0 or got_calls != want_calls:
        fail(fn, "stream calls %r != parse calls %r" % (got_calls, want_calls))
    elif finish != "length" and (got["content"] or None) != msg["content"]:
        fail(fn, "stream content %r != parse content %r" % (got["content"], msg["content"]))
    elif "reasoning_content" in msg and got["reasoning_content"] != msg["reasoning_content"]:
        fail(fn, "stream reasoning differs")

for args, want in ((["parse", "--dialect", "v9"], 2), (["parse", "--chunk", "0"], 2),
                   (["parse", "--help"], 0), (["nosuch"], 2), (["stream", "--bogus"], 2),
                   (["parse", "/nonexistent/file"], 2)):
    checks += 1
    rc, out, err = run(args, b"")
    if rc != want:
        fail(" ".join(args), "exit %d, expected %d" % (rc, want))

# --tools: undeclared tool names (strict: exit 1; tolerant: warning, exit 0); bad tools file: 2
import tempfile
call = ("\n\n<\uff5cDSML\uff5ctool_calls>\n<\uff5cDSML\uff5cinvoke name=\"f\">\n\n"
        "</\uff5cDSML\uff5cinvoke>\n</\uff5cDSML\uff5ctool_calls>").encode()
with tempfile.TemporaryDirectory() as d:
    for name, body in (("g.json", '[{"type":"function","function":{"name":"g"}}]'),
                       ("f.json", '{"tools":[{"type":"function","function":{"name":"f"}}]}'),
                       ("bad.json", '[1,')):
        open(os.path.join(d, name), "w").write(body)
    for args, want, needle in ((["--tools", d + "/g.json"], 0, b"warning"),
                               (["--strict", "--tools", d + "/g.json"], 1, b"undeclared tool"),
                               (["--strict", "--tools", d + "/f.json"], 0, b""),
                               (["--tools", d + "/bad.json"], 2, b"not JSON at offset 3")):
        checks += 1
        rc, out, err = run(["parse"] + args, call)
        if rc != want or needle not in err:
            fail("parse " + " ".join(args), "exit %d (want %d), stderr %r" % (rc, want, err))

print("cli: %d checks, %d failures" % (checks, failures))
sys.exit(1 if failures else 0)
