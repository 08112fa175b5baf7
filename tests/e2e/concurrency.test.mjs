// 1,000 simultaneous streaming requests through one proxy process all complete correctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { start, req, fold } from './harness.mjs';

function streamOnce(agent, port, body) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

test('one_thousand_simultaneous_streams_all_complete_correctly', { timeout: 120000 }, async () => {
  const h = await start({});
  try {
    const port = Number(new URL(h.url).port);
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const N = 1000;
    const body = JSON.stringify({ ...req('parallel;chunk=8;delay=5'), stream: true });
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: N }, () => streamOnce(agent, port, body)));
    const ms = Date.now() - t0;
    const ids = new Set();
    for (const r of results) {
      assert.equal(r.status, 200);
      const chunks = r.text.split('\n\n').filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]').map((e) => JSON.parse(e.slice(6)));
      assert.ok(r.text.endsWith('data: [DONE]\n\n'));
      const f = fold(chunks, assert);
      assert.equal(f.finish, 'tool_calls');
      assert.deepEqual(f.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
        [['get_weather', { city: 'Paris', days: 1 }], ['get_time', { zone: 'Europe/Rome' }]]);
      f.calls.forEach((c) => ids.add(c.id));
    }
    assert.equal(ids.size, 2 * N, 'every call id is unique');
    console.log(`# ${N} streams in ${ms} ms`);
  } finally { await h.stop(); }
});
