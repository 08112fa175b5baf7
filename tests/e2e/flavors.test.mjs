// Every upstream flavor in both modes: the response shapes of llama.cpp, vLLM, SGLang, ds4
// and a generic server are replayed by the fake upstream; the proxy must give the same
// OpenAI answer and send each runtime the knobs it needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, req, rawStream, fold } from './harness.mjs';

const FLAVORS = ['generic', 'llamacpp', 'vllm', 'sglang', 'ds4'];
const CALL = [['get_weather', { city: 'Paris', days: 3 }]];

function checkKnobs(flavor, mode, up, thinking) {
  if (flavor === 'vllm' || flavor === 'sglang') {
    assert.equal(up.skip_special_tokens, false, 'special tokens kept');
    assert.equal(up.spaces_between_special_tokens, false);
    if (mode === 'chat') {
      assert.equal(up.tool_choice, 'none', 'runtime must not parse or constrain tool calls');
      assert.equal(up.chat_template_kwargs.thinking, thinking);
    }
    if (mode === 'completions' && flavor === 'vllm') assert.equal(up.add_special_tokens, false);
  } else if (flavor === 'llamacpp') {
    assert.equal(up.cache_prompt, true);
    if (mode === 'chat') assert.equal(up.chat_template_kwargs.thinking, thinking);
    if (mode === 'completions') {
      for (const t of ['｜DSML｜', '<think>', '</think>', '<｜tool▁calls▁begin｜>'])
        assert.ok(up.preserved_tokens.includes(t), `llama-server prints ${t} only when preserved`);
    }
  } else if (mode === 'chat') {
    assert.deepEqual(up.thinking, { type: thinking ? 'enabled' : 'disabled' });
  }
  assert.equal(up.stream, true);
  assert.deepEqual(up.stream_options, { include_usage: true });
}

for (const flavor of FLAVORS) {
  test(`chat_mode_${flavor}_returns_the_call_and_sends_the_flavor_knobs`, async () => {
    const h = await start({ flavor });
    try {
      for (const chunk of [1, 3, 8]) {
        const r = await h.client().chat.completions.create(req(`weather;chunk=${chunk}`));
        assert.equal(r.choices[0].finish_reason, 'tool_calls');
        assert.deepEqual(r.choices[0].message.tool_calls.map((t) => [t.function.name, JSON.parse(t.function.arguments)]), CALL);
        checkKnobs(flavor, 'chat', await h.lastUpstreamRequest(), false);
        const s = await rawStream(h.url, req(`weather;chunk=${chunk}`));
        const f = fold(s.chunks, assert);
        assert.equal(f.content, 'Let me check the weather.');
        assert.deepEqual(f.calls.map((t) => [t.name, JSON.parse(t.arguments)]), CALL);
      }
      const t = await h.client().chat.completions.create(req('thinking;split=1', { model: 'deepseek-reasoner' }));
      assert.equal(t.choices[0].message.reasoning_content, 'The user wants the weather in Paris. I should call get_weather.');
      checkKnobs(flavor, 'chat', await h.lastUpstreamRequest(), true);
    } finally { await h.stop(); }
  });
}

for (const flavor of FLAVORS) {
  test(`completions_mode_${flavor}_renders_the_prompt_and_parses_raw_text`, async () => {
    const h = await start({ flavor, proxyArgs: ['--mode', 'completions'] });
    try {
      for (const chunk of [1, 4, 16]) {
        const r = await h.client().chat.completions.create(req(`weather;chunk=${chunk}`));
        assert.equal(r.choices[0].finish_reason, 'tool_calls');
        assert.deepEqual(r.choices[0].message.tool_calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]), CALL);
        const up = await h.lastUpstreamRequest();
        assert.equal(typeof up.prompt, 'string');
        assert.ok(up.prompt.includes('<｜User｜>') && up.prompt.includes('SCENARIO:weather'), 'rendered DeepSeek prompt');
        assert.ok(up.prompt.includes('get_weather'), 'tools rendered');
        checkKnobs(flavor, 'completions', up, false);
        const s = await h.client().chat.completions.stream(req(`weather;chunk=${chunk}`)).finalChatCompletion();
        assert.deepEqual(s.choices[0].message.tool_calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]), CALL);
      }
      const th = await h.client().chat.completions.create(req('thinking', { model: 'deepseek-reasoner' }));
      assert.equal(th.choices[0].message.reasoning_content, 'The user wants the weather in Paris. I should call get_weather.');
      assert.ok((await h.lastUpstreamRequest()).prompt.endsWith('<｜Assistant｜><think>'), 'thinking prompt');
      await h.client().chat.completions.create(req('plain', { tool_choice: 'none' }));
      assert.ok(!(await h.lastUpstreamRequest()).prompt.includes('get_weather'), 'tool_choice none renders no tools');
    } finally { await h.stop(); }
  });
}

test('completions_passthrough_relays_the_upstream_answer', async () => {
  const h = await start({});
  try {
    const res = await fetch(h.url + '/v1/completions', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'deepseek-v4-flash', prompt: 'SCENARIO:plain', stream: true }),
    });
    const text = await res.text();
    assert.match(res.headers.get('content-type'), /event-stream/);
    assert.ok(text.includes('"text":"Hell') && text.includes('[DONE]'));
    const r2 = await fetch(h.url + '/v1/completions', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'deepseek-chat', prompt: 'SCENARIO:plain' }),
    });
    const j = await r2.json();
    assert.equal(j.choices[0].text, 'Hello! How can I help you today?');
    assert.equal((await h.lastUpstreamRequest()).model, 'deepseek-v4-flash', 'alias mapped');
  } finally { await h.stop(); }
});
