// Test harness: starts the recorded-runtime upstream (fakeup) and dsml-proxy on free
// ports, and helpers to talk to them. Binaries come from PROXY_BIN / FAKEUP_BIN (set by
// `make test-proxy-e2e`).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const here = dirname(fileURLToPath(import.meta.url));
export const REC = join(here, '..', 'proxy', 'rec');
export const PROXY_BIN = process.env.PROXY_BIN;
export const FAKEUP_BIN = process.env.FAKEUP_BIN;
if (!PROXY_BIN || !FAKEUP_BIN) throw new Error('set PROXY_BIN and FAKEUP_BIN (run through make test-proxy-e2e)');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitPort(file, child, what) {
  for (let i = 0; i < 200; i++) {
    if (existsSync(file)) return parseInt(readFileSync(file, 'utf8'), 10);
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    await sleep(25);
  }
  throw new Error(`${what} did not start`);
}

// start({flavor, proxyArgs, upstream, env}) -> {url, up, log(), stop()}
export async function start(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dsml-e2e-'));
  const procs = [];
  let upURL = opts.upstream;
  let log = '';
  let px, pport;
  try {
    if (!upURL) {
      const fu = spawn(FAKEUP_BIN, ['--rec', REC, '--port-file', join(dir, 'fu.port'),
        '--flavor', opts.flavor || 'generic'], { stdio: ['ignore', 'ignore', 'pipe'] });
      procs.push(fu);
      const port = await waitPort(join(dir, 'fu.port'), fu, 'fakeup');
      upURL = `http://127.0.0.1:${port}`;
    }
    const args = ['--upstream', upURL, '--listen', '127.0.0.1:0', '--port-file', join(dir, 'px.port'),
      ...(opts.flavor ? ['--flavor', opts.flavor] : []), ...(opts.proxyArgs || [])];
    px = spawn(PROXY_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...(opts.env || {}) } });
    px.stderr.on('data', (d) => { log += d.toString(); });
    procs.push(px);
    pport = await waitPort(join(dir, 'px.port'), px, 'dsml-proxy');
  } catch (e) {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${e.message}\n${log}`);
  }
  const url = `http://127.0.0.1:${pport}`;
  return {
    url,
    up: upURL,
    log: () => log,
    client: (o = {}) => new OpenAI({ baseURL: url + '/v1', apiKey: 'test', maxRetries: 0, ...o }),
    lastUpstreamRequest: async () => JSON.parse(await (await fetch(upURL + '/_last')).text()),
    async stop() {
      for (const p of procs.reverse()) {
        if (p.exitCode === null) {
          p.kill('SIGTERM');
          await new Promise((r) => { p.once('exit', r); setTimeout(r, 2000); });
        }
      }
      rmSync(dir, { recursive: true, force: true });
      if (/Sanitizer|runtime error/.test(log)) throw new Error('dsml-proxy reported a memory or UB error:\n' + log);
      if (px.exitCode !== 0) throw new Error(`dsml-proxy exited with ${px.exitCode} (signal ${px.signalCode})`);
    },
  };
}

export const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather forecast',
    parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', description: 'Local time',
    parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
  { type: 'function', function: { name: 'search', description: 'Search',
    parameters: { type: 'object', properties: { query: { type: 'string' }, filters: { type: 'object' } } } } },
];

export function req(scenario, extra = {}) {
  return {
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: `Please help. SCENARIO:${scenario}` }],
    tools: TOOLS,
    ...extra,
  };
}

// Raw SSE read of a streamed chat completion: returns the parsed chunks and any error event.
export async function rawStream(url, body) {
  const res = await fetch(url + '/v1/chat/completions', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await res.text();
  const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  const chunks = [];
  let done = false;
  let error = null;
  for (const e of events) {
    if (e === '[DONE]') { done = true; continue; }
    const j = JSON.parse(e);
    if (j.error) error = j.error; else chunks.push(j);
  }
  return { status: res.status, chunks, done, error, text };
}

// Fold chunks the way a careful client does, checking the wire rules on the way.
export function fold(chunks, assert) {
  let content = '';
  let reasoning = '';
  let finish = null;
  let finishes = 0;
  const calls = [];
  chunks.forEach((c, i) => {
    if (c.choices.length === 0) return; // usage chunk
    const ch = c.choices[0];
    if (i === 0) assert.equal(ch.delta.role, 'assistant', 'role in the first chunk');
    if (ch.delta.content) content += ch.delta.content;
    if (ch.delta.reasoning_content) reasoning += ch.delta.reasoning_content;
    for (const tc of ch.delta.tool_calls || []) {
      if (tc.id !== undefined) {
        assert.equal(tc.index, calls.length, 'new call index is the next position');
        assert.equal(tc.type, 'function');
        assert.equal(typeof tc.function.name, 'string');
        assert.equal(tc.function.arguments, '');
        calls.push({ id: tc.id, name: tc.function.name, arguments: '' });
      } else {
        assert.ok(tc.index < calls.length, 'arguments for a started call');
        assert.equal(tc.function.name, undefined, 'name only in the first delta');
        calls[tc.index].arguments += tc.function.arguments;
      }
    }
    if (ch.finish_reason) {
      finishes++;
      finish = ch.finish_reason;
      assert.deepEqual(ch.delta, {}, 'finish chunk has an empty delta');
    }
  });
  assert.ok(finishes <= 1, 'finish_reason at most once');
  return { content, reasoning, finish, calls };
}
