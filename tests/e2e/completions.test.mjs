// dsml-proxy, completions mode specifics: the request document reaches the renderer as the
// client wrote it (numbers included), and a forced tool_choice prefills the start of the
// call so the model can only continue it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, req, rawStream, fold } from './harness.mjs';

let h;
before(async () => { h = await start({ proxyArgs: ['--mode', 'completions'] }); });
after(async () => { await h.stop(); });

const NAMED_PREFIX = '\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name="get_weather">\n';
const BLOCK_OPENER = '\n\n<｜DSML｜tool_calls>\n';
const named = { type: 'function', function: { name: 'get_weather' } };

test('named_tool_choice_prefills_the_call_and_the_continuation_becomes_that_call', async () => {
  for (const chunk of [1, 3, 64]) {
    const body = req(`forced_named;chunk=${chunk}`, { tool_choice: named });
    const r = await h.client().chat.completions.create(body);
    const up = await h.lastUpstreamRequest();
    assert.ok(up.prompt.endsWith('<｜Assistant｜></think>' + NAMED_PREFIX), 'prompt ends inside the named call');
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(r.choices[0].message.content, null);
    assert.deepEqual(r.choices[0].message.tool_calls.map((c) => [c.function.name, c.function.arguments]),
      [['get_weather', '{"city":"Paris","days":3}']]);
    const s = await rawStream(h.url, body);
    const f = fold(s.chunks, assert);
    assert.equal(s.error, null);
    assert.equal(f.finish, 'tool_calls');
    assert.equal(f.content, '');
    assert.deepEqual(f.calls.map((c) => [c.name, c.arguments]), [['get_weather', '{"city":"Paris","days":3}']]);
    const fc = await h.client().chat.completions.stream(body).finalChatCompletion();
    assert.equal(fc.choices[0].message.tool_calls[0].function.name, 'get_weather');
  }
  assert.match(h.log(), /prefilled=1/);
});

test('required_tool_choice_prefills_the_block_opener_only', async () => {
  const body = req('forced_required;chunk=2', { tool_choice: 'required' });
  const r = await h.client().chat.completions.create(body);
  assert.ok((await h.lastUpstreamRequest()).prompt.endsWith('</think>' + BLOCK_OPENER));
  assert.deepEqual(r.choices[0].message.tool_calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
    [['get_time', { zone: 'Europe/Rome' }]]);
  const f = fold((await rawStream(h.url, body)).chunks, assert);
  assert.deepEqual(f.calls.map((c) => c.name), ['get_time']);
});

test('forced_call_cut_off_by_length_returns_its_text_with_finish_length', async () => {
  const body = req('forced_cut;finish=length', { tool_choice: named, max_tokens: 5 });
  const r = await h.client().chat.completions.create(body);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.choices[0].message.tool_calls, undefined);
  assert.ok(r.choices[0].message.content.includes('<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="city" string="true">Par'),
    'the call text, prefilled part included, is returned as content');
  const f = fold((await rawStream(h.url, body)).chunks, assert);
  assert.equal(f.finish, 'length');
  assert.deepEqual(f.calls.map((c) => c.name), ['get_weather'], 'streamed as far as it got');
});

test('thinking_mode_does_not_prefill_a_forced_call', async () => {
  const body = req('thinking', { model: 'deepseek-reasoner', tool_choice: named });
  const r = await h.client().chat.completions.create(body);
  assert.ok((await h.lastUpstreamRequest()).prompt.endsWith('<｜Assistant｜><think>'), 'the model reasons first');
  assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_weather');
});

test('numbers_reach_the_renderer_as_written', async () => {
  // JSON.stringify cannot write these: the body is sent as text
  const body = `{"model":"deepseek-chat","messages":[{"role":"user","content":"SCENARIO:plain"}],
    "tools":[{"type":"function","function":{"name":"pick","parameters":{"type":"object","properties":
      {"n":{"type":"integer","maximum":123456789012345678901234567890,"default":-0,"multipleOf":1.50}}}}}],
    "temperature":0.70}`;
  const res = await fetch(h.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200, await res.clone().text());
  const raw = await (await fetch(h.up + '/_last')).text();
  const prompt = JSON.parse(raw).prompt;
  assert.ok(prompt.includes('"maximum": 123456789012345678901234567890'), 'integer beyond 64 bits kept exactly');
  assert.ok(prompt.includes('"multipleOf": 1.5'), 'floats as the official encoder (Python) writes them');
  assert.ok(raw.includes('"temperature":0.70'), 'sampling fields forwarded as written');
});
