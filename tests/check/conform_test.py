#!/usr/bin/env python3
"""`dsml conform` against a recorded runtime (tests/check/replay.c), correct and broken (stdlib only).

The replay server answers every case of the built-in suite from REC_DIR; the URL path picks
its defects (good, leak, stop, index0, emptyargs, ...). For each runtime the findings of every
run are compared with what that runtime does wrong, and the correct runtime must pass
everything: each code of a live endpoint (C_HTTP_STATUS ... C_EXPECT_CONTENT) has a positive
run and the good run as its negative. Also: the HTML report, --suite, --case, --mode, --list
and usage errors.

usage: conform_test.py DSML_BINARY REPLAY_BINARY REC_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

dsml, replay, rec = (os.path.abspath(a) for a in sys.argv[1:4])
failures = 0
checks = 0
CALL_CASES = ["single_call", "parallel_calls", "argument_types", "unicode", "long_string",
              "tool_choice_required", "tool_choice_named"]
TEXT_CASES = ["tool_result_followup", "tool_choice_none"]


def fail(name, msg):
    global failures
    failures += 1
    print("FAIL %s: %s" % (name, msg), file=sys.stderr)


tmp = tempfile.mkdtemp(prefix="conform-test-")
port_file = os.path.join(tmp, "port")
server = subprocess.Popen([replay, "--rec", rec, "--port-file", port_file], stderr=subprocess.DEVNULL)
for _ in range(200):
    if os.path.exists(port_file):
        break
    time.sleep(0.05)
port = int(open(port_file).read())
base = "http://127.0.0.1:%d" % port


def conform(path, *extra, timeout="10"):
    args = [dsml, "conform", "--endpoint", base + path, "--timeout", timeout, "--format", "json"] + list(extra)
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        rep = None
    return p.returncode, rep, p.stderr.decode("utf-8", "replace")


def runs_by(rep):
    return {(r["case"], r["mode"]): r for r in rep["runs"]}


def codes(run):
    return set(f["code"] for f in run["findings"])


def expect_runtime(name, path, want, *extra, rc_want=1, timeout="10"):
    """want(case, mode) -> (required codes, forbidden codes); every run is checked."""
    global checks
    rc, rep, err = conform(path, *extra, timeout=timeout)
    checks += 1
    if rep is None:
        fail(name, "no JSON report (rc %d)\n%s" % (rc, err))
        return None
    if rc != rc_want:
        fail(name, "exit %d, expected %d" % (rc, rc_want))
    for (case, mode), r in runs_by(rep).items():
        required, forbidden = want(case, mode)
        got = codes(r)
        checks += 1
        if not required <= got:
            fail(name, "%s/%s: missing %s (got %s)" % (case, mode, sorted(required - got), sorted(got)))
        if got & forbidden:
            fail(name, "%s/%s: unexpected %s" % (case, mode, sorted(got & forbidden)))
        passed = not any(f["severity"] == "error" for f in r["findings"])
        if passed != (r["result"] == "pass"):
            fail(name, "%s/%s: result %s does not match its findings" % (case, mode, r["result"]))
    return rep


LIVE = {"C_HTTP_STATUS", "C_TIMEOUT", "C_TRANSPORT", "C_EXPECT_CALLS", "C_EXPECT_NAME", "C_EXPECT_ARGS",
        "C_EXPECT_CONTENT"}
ALL_ERRORS = LIVE | {"C_LEAKED_DSML", "C_FINISH_REASON", "C_INDEX_REUSE", "C_INDEX_GAP", "C_CALL_ID",
                     "C_CALL_TYPE", "C_CALL_NAME", "C_ARGS_JSON", "C_STREAM_ROLE", "C_STREAM_DONE",
                     "C_STREAM_JSON", "C_NOT_JSON", "C_STREAM_MISMATCH", "S_REQUIRED"}

try:
    # ---- a correct runtime: every run passes, no finding at all ------------------------------
    report = os.path.join(tmp, "good.html")
    rep = expect_runtime("good", "/good/v1", lambda c, m: (set(), ALL_ERRORS), "--report", report, rc_want=0)
    if rep:
        checks += 1
        if rep["verdict"] != "pass" or rep["summary"]["runs"] != 18 or rep["model"] != "replay-model":
            fail("good", "verdict %s, %d runs, model %s" % (rep["verdict"], rep["summary"]["runs"], rep["model"]))
        if any(r["findings"] for r in rep["runs"]):
            fail("good", "findings on a correct runtime: %s" % [(r["case"], r["mode"], sorted(codes(r))) for r in rep["runs"] if r["findings"]])
        html = open(report, encoding="utf-8").read()
        if "PASS" not in html or "single_call" not in html or "</html>" not in html:
            fail("good", "HTML report incomplete")

    # ---- DSML left in content, finish "stop" (a runtime without a DSML parser) -------------------
    report = os.path.join(tmp, "leak.html")

    def leak(case, mode):
        if case in CALL_CASES:
            return {"C_LEAKED_DSML", "C_EXPECT_CALLS"}, {"C_FINISH_REASON", "C_HTTP_STATUS"}
        return set(), ALL_ERRORS
    rep = expect_runtime("leak", "/leak/v1", leak, "--report", report)
    html = open(report, encoding="utf-8").read() if os.path.exists(report) else ""
    checks += 1
    if "FAIL" not in html or "class=leak" not in html or \
            "&lt;\uff5cDSML\uff5cinvoke name=&quot;get_weather&quot;&gt;" not in html:
        fail("leak", "the HTML report does not show the leaked raw text")

    # ---- finish "stop", every streamed call at index 0, arguments {} ------------------------------
    def stop_index0_empty(case, mode):
        req, forb = set(), set()
        if case in CALL_CASES:
            req.add("C_EXPECT_ARGS")
            if case not in ("tool_choice_required", "tool_choice_named"):
                req.add("C_FINISH_REASON")  # those two accept "stop" (forced calls)
            else:
                forb.add("C_FINISH_REASON")
            if case == "parallel_calls" and mode == "stream":
                req |= {"C_INDEX_REUSE", "C_ARGS_JSON", "C_STREAM_MISMATCH"}
            if case in ("single_call", "parallel_calls", "unicode", "long_string", "argument_types") and \
                    not (case == "parallel_calls" and mode == "stream"):
                req.add("S_REQUIRED")
        else:
            forb = ALL_ERRORS
        return req, forb
    expect_runtime("stop+index0+emptyargs", "/stop+index0+emptyargs/v1", stop_index0_empty)

    # ---- arguments {} only when streaming: stream and non-stream disagree ------------------------
    def empty_stream(case, mode):
        if case in CALL_CASES and mode == "stream":
            return {"C_STREAM_MISMATCH", "C_EXPECT_ARGS"}, set()
        return set(), ALL_ERRORS
    expect_runtime("emptyargs_stream", "/emptyargs_stream/v1", empty_stream)

    # ---- chunk-shape violations ------------------------------------------------------------------
    def shapes(case, mode):
        req = set()
        if case in CALL_CASES:
            req |= {"C_CALL_ID", "C_CALL_TYPE"}
        if mode == "stream":
            req |= {"C_STREAM_ROLE", "C_STREAM_DONE"}
        return req, {"C_HTTP_STATUS", "C_TRANSPORT"}
    expect_runtime("noid+notype+norole+nodone", "/noid+notype+norole+nodone/v1", shapes)

    # ---- endpoint failures: findings, never crashes ----------------------------------------------
    expect_runtime("status500", "/status500/v1", lambda c, m: ({"C_HTTP_STATUS"}, {"C_EXPECT_CALLS"}))
    expect_runtime("garbage", "/garbage/v1",
                   lambda c, m: ({"C_NOT_JSON"} if m == "nonstream" else {"C_STREAM_JSON"}, {"C_HTTP_STATUS"}))
    expect_runtime("drop", "/drop/v1", lambda c, m: ({"C_TRANSPORT"}, {"C_EXPECT_CALLS", "C_EXPECT_CONTENT"}),
                   "--case", "single_call", "--case", "tool_choice_none")
    t0 = time.time()
    expect_runtime("hang", "/hang/v1", lambda c, m: ({"C_TIMEOUT"}, {"C_TRANSPORT"}), "--case", "single_call",
                   "--mode", "nonstream", timeout="1")
    checks += 1
    if time.time() - t0 > 15:
        fail("hang", "the timeout did not cut the request short")
    rc, rep, err = conform("/good/v1", "--case", "single_call")
    base_saved = base
    base = "http://127.0.0.1:1"
    expect_runtime("closed port", "/v1", lambda c, m: ({"C_TRANSPORT"}, set()), "--model", "m", "--case", "single_call")
    base = base_saved

    # ---- expectations of a case: a suite whose expectations the recordings do not meet -----------
    suite = os.path.join(tmp, "suite")
    shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec", "conform"), suite)
    for fn in os.listdir(suite):
        if not fn.endswith(".json"):
            continue
        path = os.path.join(suite, fn)
        c = json.load(open(path))
        if fn.endswith("single_call.json"):
            c["expect"]["names"] = ["get_time"]
        if fn.endswith("tool_choice_none.json"):
            c["expect"]["content_contains"] = "snow"
        if fn.endswith("unicode.json"):
            c["expect"]["include"][0]["arguments"]["text"] += "!"
        json.dump(c, open(path, "w"), ensure_ascii=False)

    def expectations(case, mode):
        return {"single_call": {"C_EXPECT_NAME"}, "tool_choice_none": {"C_EXPECT_CONTENT"},
                "unicode": {"C_EXPECT_ARGS"}}.get(case, set()), set()
    expect_runtime("--suite", "/good/v1", expectations, "--suite", suite, "--case", "single_call", "--case",
                   "tool_choice_none", "--case", "unicode", "--case", "parallel_calls")

    # ---- options ------------------------------------------------------------------------------
    rc, rep, err = conform("/good/v1", "--mode", "stream")
    checks += 1
    if rc != 0 or not rep or len(rep["runs"]) != 9 or any(r["mode"] != "stream" for r in rep["runs"]):
        fail("--mode stream", "rc %d, runs %s" % (rc, rep and len(rep["runs"])))
    p = subprocess.run([dsml, "conform", "--endpoint", base + "/leak/v1", "--case", "single_call", "--timeout", "5"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode()
    checks += 1
    if p.returncode != 1 or "verdict: FAIL" not in out or "C_LEAKED_DSML" not in out or "[ 1/2]" not in p.stderr.decode():
        fail("text output", "rc %d\n%s%s" % (p.returncode, out, p.stderr.decode()))
    p = subprocess.run([dsml, "conform", "--list"], stdout=subprocess.PIPE)
    checks += 1
    if p.returncode != 0 or len(p.stdout.decode().splitlines()) != 9:
        fail("--list", p.stdout.decode())
    bad_suite = os.path.join(tmp, "bad")
    os.mkdir(bad_suite)
    open(os.path.join(bad_suite, "x.json"), "w").write("{not json")
    for args in ([], ["--endpoint", base + "/good/v1", "--case", "nope"], ["--endpoint", "x", "--suite", "/nonexistent"],
                 ["--endpoint", "x", "--suite", bad_suite], ["--endpoint", "x", "--mode", "sometimes"],
                 ["--endpoint", "x", "--timeout", "0"], ["--endpoint", "x", "--ignore", "C_NOPE"]):
        checks += 1
        p = subprocess.run([dsml, "conform"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 2 or not p.stderr:
            fail("usage " + " ".join(args), "rc %d" % p.returncode)
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print("dsml conform: %d of %d checks failed" % (failures, checks), file=sys.stderr)
    sys.exit(1)
print("dsml conform: %d checks passed (recorded runtime: good, 9 defect sets)" % checks)
