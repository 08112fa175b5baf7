// dsml-proxy faults: bad client input, limits, upstream failures of every kind, client
// disconnects and slow clients. Each fault must give a clear error and a well-formed end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { start, req, rawStream } from './harness.mjs';

let h;
before(async () => {
  h = await start({ proxyArgs: ['--max-body', '20000', '--max-headers', '4096', '--idle-timeout', '1000', '--max-streams', '64'] });
});
after(async () => { await h.stop(); });

const post = (url, body, headers = {}) => fetch(url + '/v1/chat/completions', {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body,
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('malformed_json_is_400_with_the_byte_position', async () => {
  const res = await post(h.url, '{"model": "deepseek-chat", "messages": [}');
  assert.equal(res.status, 400);
  const j = await res.json();
  assert.equal(j.error.type, 'invalid_request_error');
  assert.equal(j.error.code, 'invalid_json');
  assert.match(j.error.message, /byte 40 \(line 1, column 41\)/, 'points at the offending byte');
});

test('invalid_request_fields_are_400_with_a_reason', async () => {
  for (const [body, re] of [
    [{ messages: [{ role: 'user', content: 'x' }] }, /model/],
    [{ model: 'deepseek-chat', messages: [] }, /messages/],
    [{ ...req('weather'), tool_choice: { type: 'function', function: { name: 'nope' } } }, /not in 'tools'/],
    [{ ...req('weather'), tool_choice: 'sometimes' }, /tool_choice/],
    [{ ...req('weather'), thinking: { type: 'maybe' } }, /thinking/],
    [{ ...req('weather'), n: 2 }, /n=1/],
  ]) {
    const res = await post(h.url, JSON.stringify(body));
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, re);
  }
});

test('oversized_body_is_json_413', async () => {
  const big = JSON.stringify({ ...req('weather'), pad: 'x'.repeat(30000) });
  const res = await post(h.url, big);
  assert.equal(res.status, 413);
  assert.match(res.headers.get('content-type'), /application\/json/);
  const j = await res.json();
  assert.equal(j.error.code, 'body_too_large');
  assert.match(j.error.message, /limit 20000/);
  await assert.rejects(h.client().chat.completions.create({ ...req('weather'), pad: 'x'.repeat(30000) }),
    (e) => e.status === 413 && e.code === 'body_too_large');
  const ok = await post(h.url, JSON.stringify(req('weather')));
  assert.equal(ok.status, 200, 'the server is fine afterwards');
  await ok.text();
});

test('oversized_headers_are_json_431', async () => {
  const res = await post(h.url, JSON.stringify(req('weather')), { 'x-big': 'y'.repeat(8000) });
  assert.equal(res.status, 431);
  const j = await res.json();
  assert.equal(j.error.code, 'headers_too_large');
  assert.match(j.error.message, /limit 4096/);
});

test('unknown_model_is_404', async () => {
  const res = await post(h.url, JSON.stringify({ ...req('weather'), model: 'gpt-17' }));
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, 'model_not_found');
});

test('unknown_route_is_json_404_and_wrong_method_405', async () => {
  let res = await fetch(h.url + '/v2/whatever');
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, 'not_found');
  res = await fetch(h.url + '/v1/chat/completions');
  assert.equal(res.status, 405);
});

test('upstream_unreachable_is_502_and_health_says_so', async () => {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r)); // a port nobody listens on
  const d = await start({ upstream: `http://127.0.0.1:${port}` });
  try {
    const res = await post(d.url, JSON.stringify(req('weather')));
    assert.equal(res.status, 502);
    assert.equal((await res.json()).error.code, 'upstream_unreachable');
    const s = await post(d.url, JSON.stringify({ ...req('weather'), stream: true }));
    assert.equal(s.status, 502);
    const hl = await fetch(d.url + '/health');
    assert.equal(hl.status, 503);
    assert.equal((await hl.json()).upstream.reachable, false);
  } finally { await d.stop(); }
});

test('health_reports_reachable_upstream', async () => {
  const res = await fetch(h.url + '/health');
  assert.equal(res.status, 200);
  assert.equal((await res.json()).upstream.reachable, true);
});

test('models_lists_upstream_models_and_aliases', async () => {
  const j = await (await fetch(h.url + '/v1/models')).json();
  assert.deepEqual(j.data.map((m) => m.id), ['deepseek-v4-flash', 'deepseek-chat', 'deepseek-reasoner']);
});

test('upstream_silent_times_out_504', async () => {
  const res = await post(h.url, JSON.stringify(req('weather;hang=1')));
  assert.equal(res.status, 504);
  assert.equal((await res.json()).error.code, 'upstream_timeout');
});

test('upstream_error_status_and_body_are_passed_through', async () => {
  for (const status of [400, 429, 500, 503]) {
    const res = await post(h.url, JSON.stringify(req(`weather;status=${status}`)));
    assert.equal(res.status, status);
    assert.equal((await res.json()).error.message, 'fake upstream error');
    const s = await post(h.url, JSON.stringify({ ...req(`weather;status=${status}`), stream: true }));
    assert.equal(s.status, status, 'streamed request: error before the stream starts keeps its status');
  }
  await assert.rejects(h.client().chat.completions.create(req('weather;status=429')), (e) => e.status === 429);
});

for (const [name, scenario, re, code] of [
  ['crash', 'weather;chunk=4;crash=40', /upstream_broken|upstream connection broken|upstream/, 'upstream_broken'],
  ['garbage', 'weather;chunk=4;garbage=20', /malformed SSE event/, 'upstream_bad_event'],
  ['no_finish', 'weather;nodone=1', /ended without finish_reason/, 'upstream_truncated'],
  ['error_event', 'weather;errevent=1', /model crashed during generation/, 'upstream_error'],
]) {
  test(`upstream_${name}_mid_stream_ends_with_error_event_and_keeps_text`, async () => {
    const s = await rawStream(h.url, req(scenario));
    assert.equal(s.status, 200);
    assert.ok(s.error, 'terminal error event');
    assert.match(s.error.message, re);
    assert.equal(s.error.code, code, 'the error event carries a code');
    assert.equal(s.error.type, 'upstream_error');
    assert.equal(s.chunks[0].choices[0].delta.role, 'assistant');
    const text = s.chunks.map((c) => c.choices[0]?.delta?.content || '').join('');
    assert.ok(text.startsWith('Let me check'), 'text before the fault reached the client');
    assert.ok(!s.chunks.some((c) => c.choices[0]?.finish_reason), 'no finish chunk after a fault');
    await assert.rejects(h.client().chat.completions.stream(req(scenario)).finalChatCompletion());
    const r = await post(h.url, JSON.stringify(req(scenario)));
    assert.equal(r.status, 502);
    const j = await r.json();
    assert.match(j.error.message, re);
    assert.equal(j.error.code, code);
  });
}

test('slow_drip_streams_tokens_as_they_arrive', async () => {
  const t0 = Date.now();
  const res = await post(h.url, JSON.stringify({ ...req('plain;chunk=4;delay=60'), stream: true }));
  const reader = res.body.getReader();
  const { value } = await reader.read();
  const first = Date.now() - t0;
  assert.ok(new TextDecoder().decode(value).includes('data: '));
  let rest = '';
  for (;;) { const { done, value: v } = await reader.read(); if (done) break; rest += new TextDecoder().decode(v); }
  const total = Date.now() - t0;
  assert.ok(rest.includes('[DONE]'));
  assert.ok(total >= 400, `upstream dripped for ${total} ms`);
  assert.ok(first < total / 3, `first bytes after ${first} ms of ${total} ms`);
});

async function activeCount() {
  return (await (await fetch(h.url + '/health')).json()).active;
}

test('client_disconnect_cancels_the_upstream_request', async () => {
  const ac = new AbortController();
  const res = await post(h.url, JSON.stringify({ ...req('plain;chunk=1;delay=100'), stream: true }), {});
  const reader = res.body.getReader();
  await reader.read();
  await reader.cancel();
  ac.abort();
  for (let i = 0; i < 50 && (await activeCount()) > 1; i++) await sleep(20);
  assert.equal(await activeCount(), 1, 'only the /health request itself is active');
  await sleep(50);
  assert.match(h.log(), /cancelled=1/);
});

test('a_client_that_does_not_read_does_not_block_others', async () => {
  // a raw client that sends a streaming request and never reads its socket
  const body = JSON.stringify({ ...req('unicode;chunk=1'), stream: true });
  const sock = net.connect(new URL(h.url).port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.pause();
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: 10 }, () => h.client().chat.completions.create(req('weather'))));
  assert.ok(Date.now() - t0 < 3000);
  results.forEach((r) => assert.equal(r.choices[0].finish_reason, 'tool_calls'));
  sock.destroy();
});

test('concurrent_request_limit_answers_503', async () => {
  const d = await start({ proxyArgs: ['--max-streams', '2'] });
  try {
    const ctl = [new AbortController(), new AbortController()];
    const hanging = ctl.map((c) => post(d.url, JSON.stringify({ ...req('plain;chunk=1;delay=200'), stream: true }), {}).catch(() => null));
    await sleep(200);
    const res = await post(d.url, JSON.stringify(req('weather')));
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error.code, 'overloaded');
    (await Promise.all(hanging)).forEach((r) => r && r.body.cancel());
  } finally { await d.stop(); }
});

test('upstream_total_timeout_ends_a_stream_with_an_error_event', async () => {
  const d = await start({ proxyArgs: ['--timeout', '400'] });
  try {
    const s = await rawStream(d.url, req('plain;chunk=1;delay=100'));
    assert.equal(s.status, 200);
    assert.match(s.error.message, /timed out/);
    assert.equal(s.error.code, 'upstream_timeout');
    assert.ok(s.chunks.length > 1, 'text before the timeout was delivered');
  } finally { await d.stop(); }
});

test('idle_client_connection_is_closed_after_the_client_timeout', async () => {
  const d = await start({ proxyArgs: ['--client-idle-timeout', '1'] });
  try {
    const sock = net.connect(new URL(d.url).port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'); // and then nothing
    const t0 = Date.now();
    await new Promise((r) => sock.once('close', r));
    const ms = Date.now() - t0;
    assert.ok(ms >= 800 && ms < 5000, `closed after ${ms} ms`);
  } finally { await d.stop(); }
});

test('slow_reader_gets_every_chunk_after_backpressure', async () => {
  // ~18 MB of chunks for a client that reads nothing for 3 s, far more than the kernel's
  // socket buffers hold (the send buffer grows to tcp_wmem's 4 MiB, the receive window of a
  // client that does not read stays small): the proxy pauses the upstream transfer instead
  // of buffering it all, then resumes without losing a byte.
  const body = JSON.stringify({ model: 'deepseek-v4-flash', stream: true, messages: [{ role: 'user', content: 'SCENARIO:bench;ts=80000' }] });
  const sock = net.connect(new URL(h.url).port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.pause();
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  await sleep(3000);
  const parts = [];
  sock.on('data', (d) => parts.push(d));
  sock.resume();
  await new Promise((r) => sock.once('end', r));
  const text = Buffer.concat(parts).toString('utf8');
  const stamps = [...text.matchAll(/"content":"\[(\d+)\]"/g)].map((m) => Number(m[1]));
  assert.equal(stamps.length, 80000);
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] >= stamps[i - 1], 'in order');
  assert.ok(text.includes('"finish_reason":"stop"') && text.includes('data: [DONE]'));
  await sleep(50);
  assert.match(h.log(), /paused=\d+/, 'the upstream transfer was paused');
});

test('shutdown_with_requests_in_flight_exits_cleanly', async () => {
  // SIGTERM while streams and whole answers are still waiting for the upstream: every
  // request is finished once, its upstream transfer cancelled, and the exit status is 0
  // (stop() checks it, and the sanitizers' reports when built with them).
  const d = await start({});
  const pending = [];
  for (let i = 0; i < 4; i++) {
    const s = await post(d.url, JSON.stringify({ ...req('plain;chunk=1;delay=200'), stream: true }));
    const rd = s.body.getReader();
    await rd.read();
    pending.push(rd.closed.catch(() => null));
    pending.push(post(d.url, JSON.stringify(req('weather;hang=1'))).catch(() => null));
  }
  await sleep(100);
  assert.equal((await (await fetch(d.url + '/health')).json()).active, 9);
  await d.stop();
  await Promise.all(pending);
});
