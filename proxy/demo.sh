#!/bin/sh
# Demo: a bundled local upstream replays a recorded DeepSeek-V4 completion (DSML tool
# call in the text), dsml-proxy runs in front of it, one chat request with tools goes
# through with curl, and the structured tool call that comes back is printed.
#   usage: demo.sh PROXY_BIN FAKEUP_BIN
set -eu
PROXY=$1 FAKEUP=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
fpid="" ppid=""
cleanup() { kill $ppid $fpid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
"$FAKEUP" --rec "$here/../tests/proxy/rec" --port-file "$tmp/fu" 2>/dev/null & fpid=$!
while [ ! -s "$tmp/fu" ]; do sleep 0.05; done
"$PROXY" --upstream "http://127.0.0.1:$(cat "$tmp/fu")" --listen 127.0.0.1:0 --port-file "$tmp/px" 2>"$tmp/log" & ppid=$!
while [ ! -s "$tmp/px" ]; do sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/px")/v1/chat/completions"
echo "upstream replays (raw model text):"
sed 's/^/    /' "$here/../tests/proxy/rec/weather.txt"; echo; echo
body='{"model":"deepseek-chat","messages":[{"role":"user","content":"What is the weather in Paris for 3 days? SCENARIO:weather"}],
 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}}]}'
echo "$ curl $url -d '{…tools…}'"
curl -sS "$url" -H 'Content-Type: application/json' -d "$body" > "$tmp/out"
python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
c=r["choices"][0]
print("finish_reason:", c["finish_reason"])
print("content:      ", json.dumps(c["message"]["content"], ensure_ascii=False))
for t in c["message"].get("tool_calls") or []:
    print("tool_call:     id=%s name=%s arguments=%s" % (t["id"], t["function"]["name"], t["function"]["arguments"]))
' "$tmp/out" 2>/dev/null || cat "$tmp/out"
echo; echo "streamed (stream=true), tool-call deltas:"
curl -sSN "$url" -H 'Content-Type: application/json' -d "$(echo "$body" | sed 's/^{/{"stream":true,/')" | grep -E 'tool_calls|finish_reason":"' | sed 's/.*"delta":/    delta: /; s/,"logprobs".*//'
echo; echo "proxy log:"; sed 's/^/    /' "$tmp/log"
