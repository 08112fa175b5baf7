#!/usr/bin/env python3
"""Command-line tests of `dsml check` (stdlib only).

  - every case of CASES/expect.json: the exact set of finding codes in text and in JSON
    output (they must agree), the exit status, and line:col of selected findings;
  - every spec vector (spec/vectors): y_ vectors give no finding; i_/n_ vectors give their
    strict-mode error and only codes derived from their tolerant warnings;
  - stdin input, --list-codes (text and JSON, every code once), usage and I/O errors (exit 2).

usage: cli_test.py DSML_BINARY CASES_DIR [VECTOR_DIR]
"""
import json
import os
import re
import subprocess
import sys

dsml, cases_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
vec_dir = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else "spec/vectors")
failures = 0
checks = 0

LINE = re.compile(r"^(?P<loc>\S+?): (?:record \d+ \S+(?: \d+:\d+)?: )?(?P<sev>error|warning) (?P<code>[CSEW]_[A-Z0-9_]+): ")


def fail(name, msg):
    global failures
    failures += 1
    print("FAIL %s: %s" % (name, msg), file=sys.stderr)


def run(args, data=None, cwd=None):
    p = subprocess.run([dsml, "check", "--no-progress"] + args, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def text_findings(out):
    found = []
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            loc = m.group("loc").split(":")
            found.append((m.group("code"), ":".join(loc[1:3]) if len(loc) >= 3 else ""))
    return found


def json_codes(out):
    rep = json.loads(out)
    codes = []
    for r in rep["results"]:
        for f in r["findings"]:
            f = f.get("finding", f)
            codes.append(f["code"])
            for k in ("code", "severity", "path", "pointer", "offset", "line", "col", "message"):
                if k not in f:
                    raise ValueError("finding without %s" % k)
    total = rep["summary"]["errors"] + rep["summary"]["warnings"]
    if total != len(codes):
        raise ValueError("summary counts %d findings, results hold %d" % (total, len(codes)))
    return codes


# ---- the cases --------------------------------------------------------------------------
manifest = json.load(open(os.path.join(cases_dir, "expect.json")))
for case in manifest["cases"]:
    name = " ".join(case["args"])
    checks += 1
    rc, out, err = run(case["args"], cwd=cases_dir)
    if rc != case["exit"]:
        fail(name, "exit %d, expected %d\n%s%s" % (rc, case["exit"], out, err))
    found = text_findings(out)
    got = sorted(set(c for c, _ in found))
    want = sorted(set(case["codes"]))
    if got != want:
        fail(name, "codes %s, expected %s\n%s" % (got, want, out))
    for code, where in case.get("where", {}).items():
        if (code, where) not in found:
            fail(name, "%s not reported at %s: %s" % (code, where, [f for f in found if f[0] == code]))
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    if not summary.startswith("dsml check: "):
        fail(name, "no summary line: %r" % summary)
    rc2, out2, err2 = run(["--format", "json"] + case["args"], cwd=cases_dir)
    try:
        jcodes = json_codes(out2)
        if sorted(jcodes) != sorted(c for c, _ in found):
            fail(name, "JSON report codes %s differ from text %s" % (sorted(jcodes), sorted(c for c, _ in found)))
    except (ValueError, KeyError) as e:
        fail(name, "JSON report: %s\n%s" % (e, out2[:2000]))
    if rc2 != rc:
        fail(name, "exit %d with --format json, %d without" % (rc2, rc))

# ---- stdin ---------------------------------------------------------------------------------
checks += 1
leak = open(os.path.join(cases_dir, "leak_content.json"), "rb").read()
rc, out, _ = run(["-"], data=leak)
if rc != 1 or "C_LEAKED_DSML" not in out or "<stdin>" not in out:
    fail("stdin", "rc %d\n%s" % (rc, out))
rc, out, _ = run([], data=b"Plain answer, no tools.")
if rc != 0:
    fail("stdin without FILE", "rc %d\n%s" % (rc, out))

# ---- the spec vectors ------------------------------------------------------------------------
WARN_TO_CHECK = {"W_IMPLICIT_THINK_END": "C_DSML_IN_REASONING"}
nvec = 0
for fn in sorted(os.listdir(vec_dir)):
    if not fn.endswith(".json"):
        continue
    vec = json.load(open(os.path.join(vec_dir, fn)))
    opts = vec.get("options", {})
    if "max_token" in opts or "max_value" in opts:
        continue  # limits are parse options, not check options
    args = []
    if "dialect" in opts:
        args += ["--dialect", opts["dialect"]]
    if opts.get("thinking"):
        args.append("--thinking")
    if opts.get("lookalikes"):
        args.append("--lookalikes")
    nvec += 1
    checks += 1
    rc, out, err = run(args + ["--input", "completion", "-"], data=vec["input"].encode())
    got = set(c for c, _ in text_findings(out))
    exp = vec.get("expect", {})
    strict = vec.get("strict", {}).get("error")
    warnings = [WARN_TO_CHECK.get(w, w) for w in exp.get("warnings", [])]
    allowed = set(warnings) | ({strict} if strict else set())
    required = set(w for w in warnings if w.startswith("C_")) | ({strict} if strict else set())
    if exp.get("finish_reason") == "length":
        allowed.add("C_TRUNCATED")
        required.add("C_TRUNCATED")
    if fn.startswith("y_"):
        if rc != 0 or got:
            fail(fn, "a y_ vector gives findings: rc %d %s" % (rc, sorted(got)))
        continue
    if not required.issubset(got):
        fail(fn, "missing %s (got %s)" % (sorted(required - got), sorted(got)))
    if not got.issubset(allowed):
        fail(fn, "unexpected %s (allowed %s)" % (sorted(got - allowed), sorted(allowed)))
    for w in warnings:
        twin = "E_" + w[2:] if w.startswith("W_") else None
        if w not in got and twin != strict:
            fail(fn, "warning %s not reported (strict error %s)" % (w, strict))
    if got and rc != 1:
        fail(fn, "findings but exit %d" % rc)

# ---- --list-codes ---------------------------------------------------------------------------
checks += 1
rc, out, _ = run(["--list-codes"])
names = [l.split()[0] for l in out.splitlines() if l.strip()]
for must in ("C_LEAKED_DSML", "C_FINISH_REASON", "C_INDEX_REUSE", "C_EXPECT_ARGS", "S_TYPE", "S_SCHEMA",
             "E_NO_SEPARATOR", "W_NO_SEPARATOR"):
    if must not in names:
        fail("--list-codes", "%s missing" % must)
if len(names) != len(set(names)):
    fail("--list-codes", "a code is listed twice")
rc, out, _ = run(["--list-codes", "--format", "json"])
try:
    table = json.loads(out)
    if sorted(t["code"] for t in table) != sorted(names):
        fail("--list-codes --format json", "differs from the text table")
    if any(t["severity"] not in ("error", "warning") for t in table):
        fail("--list-codes --format json", "bad severity")
except ValueError as e:
    fail("--list-codes --format json", str(e))

# ---- usage and I/O errors ----------------------------------------------------------------------
for args in (["--dialect", "v9", "x"], ["--ignore", "C_NOPE", "x"], ["--format", "xml", "x"],
             ["--fail-on", "never", "x"], ["--input", "pdf", "x"], ["--bogus"],
             ["/nonexistent/file.json"], ["--tools", "/nonexistent/tools.json", "clean.txt"],
             ["--tools", "clean.txt", "clean.txt"], ["--tools", "good_response.json", "clean.txt"]):
    checks += 1
    rc, out, err = run(args, cwd=cases_dir)
    if rc != 2:
        fail(" ".join(args), "exit %d, expected 2 (usage/IO)\n%s%s" % (rc, out, err))
    elif not err.strip():
        fail(" ".join(args), "no message on stderr")
checks += 1
rc, out, _ = run(["--help"])
if rc != 0 or "usage: dsml check" not in out:
    fail("--help", "rc %d" % rc)

if failures:
    print("dsml check CLI: %d of %d checks failed" % (failures, checks), file=sys.stderr)
    sys.exit(1)
print("dsml check CLI: %d checks passed (%d manifest cases, %d spec vectors)" % (checks, len(manifest["cases"]), nvec))
