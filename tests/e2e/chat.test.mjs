// dsml-proxy, chat mode, with the openai SDK (6.49.0): create, stream + finalChatCompletion,
// runTools, every chunking of the recorded completions, dialects, thinking, tool_choice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, req, rawStream, fold, TOOLS } from './harness.mjs';

let h;
before(async () => { h = await start({ proxyArgs: ['--dialect', 'auto'] }); });
after(async () => { await h.stop(); });

const WEATHER = { name: 'get_weather', args: { city: 'Paris', days: 3 } };
const ID = /^call_[0-9a-f]{24,}$/;

test('create_returns_tool_call_with_content_and_finish_tool_calls', async () => {
  const r = await h.client().chat.completions.create(req('weather'));
  const m = r.choices[0].message;
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'deepseek-chat');
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.content, 'Let me check the weather.');
  assert.equal(m.tool_calls.length, 1);
  assert.match(m.tool_calls[0].id, ID);
  assert.equal(m.tool_calls[0].type, 'function');
  assert.equal(m.tool_calls[0].function.name, WEATHER.name);
  assert.equal(m.tool_calls[0].function.arguments, '{"city":"Paris","days":3}');
  assert.ok(r.usage.total_tokens > 0);
});

test('stream_final_completion_has_two_parallel_calls_with_distinct_ids', async () => {
  const s = h.client().chat.completions.stream(req('parallel;chunk=2'));
  const done = [];
  s.on('tool_calls.function.arguments.done', (e) => done.push(e.index));
  const r = await s.finalChatCompletion();
  const tc = r.choices[0].message.tool_calls;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(r.choices[0].message.content, 'Checking both.');
  assert.deepEqual(tc.map((c) => c.function.name), ['get_weather', 'get_time']);
  assert.deepEqual(JSON.parse(tc[0].function.arguments), { city: 'Paris', days: 1 });
  assert.deepEqual(JSON.parse(tc[1].function.arguments), { zone: 'Europe/Rome' });
  assert.notEqual(tc[0].id, tc[1].id);
  tc.forEach((c) => assert.match(c.id, ID));
  assert.deepEqual(done, [0, 1]);
});

test('raw_stream_follows_wire_rules_and_never_leaks_markup', async () => {
  const r = await rawStream(h.url, req('parallel;chunk=1', { stream_options: { include_usage: true } }));
  assert.equal(r.status, 200);
  assert.ok(r.done, 'ends with [DONE]');
  assert.equal(r.error, null);
  const f = fold(r.chunks, assert);
  assert.equal(f.finish, 'tool_calls');
  assert.equal(f.content, 'Checking both.');
  assert.ok(!r.text.includes('DSML'), 'no DSML in the stream');
  assert.deepEqual(f.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
    [['get_weather', { city: 'Paris', days: 1 }], ['get_time', { zone: 'Europe/Rome' }]]);
  const last = r.chunks[r.chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage.completion_tokens > 0, 'usage chunk when include_usage');
  r.chunks.slice(0, -1).forEach((c) => assert.equal(c.usage, null));
});

test('run_tools_loop_calls_the_tool_and_returns_the_final_answer', async () => {
  const calls = [];
  const runner = h.client().chat.completions.runTools({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'Weather in Paris? SCENARIO:weather;chunk=3;then=final' }],
    stream: true,
    tools: [{
      type: 'function',
      function: {
        name: 'get_weather',
        parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } },
        parse: JSON.parse,
        function: (args) => { calls.push(args); return { temp: 21, sky: 'sunny' }; },
      },
    }],
  });
  const content = await runner.finalContent();
  assert.equal(content, 'It is 21°C and sunny in Paris for the next 3 days.');
  assert.deepEqual(calls, [{ city: 'Paris', days: 3 }]);
  const msgs = runner.messages;
  const tool = msgs.find((m) => m.role === 'tool');
  assert.equal(tool.content, '{"temp":21,"sky":"sunny"}');
  const asst = msgs.find((m) => m.role === 'assistant' && m.tool_calls);
  assert.equal(tool.tool_call_id, asst.tool_calls[0].id);
  const up = await h.lastUpstreamRequest();
  assert.ok(up.messages.some((m) => m.role === 'tool' && m.tool_call_id === asst.tool_calls[0].id),
    'the tool result reached the upstream');
});

const CASES = [
  ['weather', 'Let me check the weather.', '', [['get_weather', { city: 'Paris', days: 3 }]], 'tool_calls'],
  ['callonly', null, '', [['get_weather', { city: 'Paris', days: 3 }]], 'tool_calls'],
  ['unicode', 'Voilà — 東京 and Zürich ✓.', '', [['search', { query: 'café «crème» 東京 \\ "quoted"\nnewline', filters: { lang: ['fr', 'ja'], max: 10, exact: true } }]], 'tool_calls'],
  ['notmarkup', 'Use the <｜DSM tag and a < sign; 2 < 3 is true.', '', [], 'stop'],
  ['plain', 'Hello! How can I help you today?', '', [], 'stop'],
  ['v32', 'Sure.', '', [['get_weather', { city: 'Paris', days: 3 }]], 'tool_calls'],
  ['v31', 'Sure.', '', [['get_weather', { city: 'Paris', days: 3 }]], 'tool_calls'],
];

for (const [name, content, , calls, finish] of CASES) {
  test(`${name}_same_result_at_every_chunk_size_streamed_and_not`, async () => {
    const c = h.client();
    for (const chunk of [1, 2, 3, 4, 5, 7, 11, 16, 64, 4096]) {
      const r = await c.chat.completions.create(req(`${name};chunk=${chunk}`));
      const m = r.choices[0].message;
      assert.equal(r.choices[0].finish_reason, finish, `chunk ${chunk}`);
      assert.equal(m.content, content ?? (calls.length ? null : ''), `content, chunk ${chunk}`);
      assert.deepEqual((m.tool_calls || []).map((t) => [t.function.name, JSON.parse(t.function.arguments)]), calls);
      const s = await rawStream(h.url, req(`${name};chunk=${chunk}`));
      const f = fold(s.chunks, assert);
      assert.ok(s.done);
      assert.equal(f.finish, finish);
      assert.equal(f.content, content ?? '');
      assert.deepEqual(f.calls.map((t) => [t.name, JSON.parse(t.arguments)]), calls, `stream chunk ${chunk}`);
      // streamed arguments text equals the non-stream text byte for byte
      assert.deepEqual(f.calls.map((t) => t.arguments), (m.tool_calls || []).map((t) => t.function.arguments));
    }
  });
}

test('sse_bytes_split_across_reads_give_the_same_calls', async () => {
  for (const wire of [1, 7]) {
    const s = await rawStream(h.url, req(`callonly;chunk=64;wire=${wire}`));
    const f = fold(s.chunks, assert);
    assert.deepEqual(f.calls.map((t) => [t.name, JSON.parse(t.arguments)]), [['get_weather', { city: 'Paris', days: 3 }]]);
  }
});

test('crlf_and_comment_lines_in_upstream_sse_are_understood', async () => {
  const s = await rawStream(h.url, req('weather;crlf=1;comments=1'));
  const f = fold(s.chunks, assert);
  assert.equal(f.calls.length, 1);
  assert.equal(f.finish, 'tool_calls');
});

test('thinking_mode_splits_reasoning_with_and_without_runtime_reasoning_parser', async () => {
  for (const split of [0, 1]) {
    for (const chunk of [1, 5]) {
      const body = req(`thinking;split=${split};chunk=${chunk}`, { model: 'deepseek-reasoner' });
      const r = await h.client().chat.completions.create(body);
      const m = r.choices[0].message;
      assert.equal(m.reasoning_content, 'The user wants the weather in Paris. I should call get_weather.', `split ${split}`);
      assert.equal(m.tool_calls[0].function.name, 'get_weather');
      assert.equal(r.choices[0].finish_reason, 'tool_calls');
      const s = await rawStream(h.url, body);
      const f = fold(s.chunks, assert);
      assert.equal(f.reasoning, 'The user wants the weather in Paris. I should call get_weather.');
      assert.equal(f.content, '');
      assert.deepEqual(JSON.parse(f.calls[0].arguments), { city: 'Paris', days: 3 });
    }
  }
});

test('truncated_call_finishes_with_length_and_keeps_the_text', async () => {
  const r = await h.client().chat.completions.create(req('truncated;finish=length'));
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.choices[0].message.tool_calls, undefined);
  assert.ok(r.choices[0].message.content.startsWith('Let me look.'));
  const s = await rawStream(h.url, req('truncated;finish=length;chunk=2'));
  const f = fold(s.chunks, assert);
  assert.equal(f.finish, 'length');
});

test('calls_parsed_by_the_runtime_itself_pass_through', async () => {
  const r = await h.client().chat.completions.create(req('upcalls;upcalls=1'));
  const tc = r.choices[0].message.tool_calls;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(tc[0].id, 'call_up_1');
  assert.deepEqual(JSON.parse(tc[0].function.arguments), { city: 'Paris', days: 3 });
  const s = await h.client().chat.completions.stream(req('upcalls;upcalls=1')).finalChatCompletion();
  assert.equal(s.choices[0].message.tool_calls[0].id, 'call_up_1');
});

test('runtime_parsed_calls_keep_their_place_among_parsed_calls', async () => {
  // weather.txt holds one DSML call (parsed by the proxy); uptime.txt is a call the runtime
  // parsed itself, sent before (uphead) or after (uptail) the text
  for (const [where, names] of [['uptail', ['get_weather', 'get_time']], ['uphead', ['get_time', 'get_weather']]]) {
    const body = req(`weather;chunk=5;${where}=uptime`);
    const r = await h.client().chat.completions.create(body);
    const tc = r.choices[0].message.tool_calls;
    assert.deepEqual(tc.map((c) => c.function.name), names, `${where}: whole answer in arrival order`);
    const up = tc.find((c) => c.function.name === 'get_time');
    assert.equal(up.id, 'call_up_2');
    assert.equal(up.function.arguments, '{"zone":"Asia/Tokyo"}');
    assert.equal(r.choices[0].message.content, 'Let me check the weather.');
    const f = fold((await rawStream(h.url, body)).chunks, assert);
    assert.deepEqual(f.calls.map((c) => c.name), names, `${where}: streamed in the same order`);
    assert.deepEqual(f.calls.map((c) => c.arguments), tc.map((c) => c.function.arguments));
  }
});

test('request_numbers_are_forwarded_as_written', async () => {
  const body = `{"model":"deepseek-chat","messages":[{"role":"user","content":"SCENARIO:plain"}],"temperature":0.70,
    "seed":123456789012345678901234567890,"response_format":{"type":"json_schema","json_schema":{"name":"x",
    "schema":{"type":"integer","maximum":1e400,"minimum":-0,"multipleOf":1.50}}}}`;
  const res = await fetch(h.url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200, await res.clone().text());
  const raw = await (await fetch(h.up + '/_last')).text();
  for (const t of ['"temperature":0.70', '"seed":123456789012345678901234567890', '"maximum":1e400', '"minimum":-0', '"multipleOf":1.50'])
    assert.ok(raw.includes(t), `${t} in ${raw}`);
});

test('client_authorization_is_forwarded_to_the_upstream', async () => {
  const auth = async () => (await fetch(h.up + '/_last_auth')).text();
  await h.client({ apiKey: 'sk-client-1' }).chat.completions.create(req('weather'));
  assert.equal(await auth(), 'Bearer sk-client-1');
  await rawStream(h.url, req('weather'));
  assert.equal(await auth(), '', 'no Authorization from the client, none upstream');
  await fetch(h.url + '/v1/models', { headers: { authorization: 'Bearer sk-client-2' } });
  assert.equal(await auth(), 'Bearer sk-client-2');
  await fetch(h.url + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client-3' },
    body: JSON.stringify({ model: 'deepseek-chat', prompt: 'SCENARIO:plain' }) });
  assert.equal(await auth(), 'Bearer sk-client-3');
});

test('upstream_api_key_replaces_the_client_authorization', async () => {
  for (const how of ['flag', 'env']) {
    const d = await start(how === 'flag' ? { proxyArgs: ['--upstream-api-key', 'sk-upstream'] }
      : { env: { DSML_PROXY_UPSTREAM_API_KEY: 'sk-upstream' } });
    try {
      await d.client({ apiKey: 'sk-client' }).chat.completions.create(req('weather'));
      assert.equal(await (await fetch(d.up + '/_last_auth')).text(), 'Bearer sk-upstream', how);
      await fetch(d.url + '/health');
      assert.equal(await (await fetch(d.up + '/_last_auth')).text(), 'Bearer sk-upstream', `${how}: /health too`);
    } finally { await d.stop(); }
  }
});

test('tool_choice_named_matching_call_is_returned', async () => {
  const r = await h.client().chat.completions.create(req('weather', { tool_choice: { type: 'function', function: { name: 'get_weather' } } }));
  assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_weather');
});

test('tool_choice_violations_are_errors_not_silent', async () => {
  const c = h.client();
  const cases = [
    req('weather', { tool_choice: 'none' }),
    req('weather', { tool_choice: { type: 'function', function: { name: 'get_time' } } }),
    req('plain', { tool_choice: 'required' }),
    req('parallel', { parallel_tool_calls: false }),
  ];
  for (const body of cases) {
    await assert.rejects(c.chat.completions.create(body), (e) => {
      assert.equal(e.status, 502);
      assert.equal(e.code, 'tool_choice_violation');
      return true;
    });
    await assert.rejects(c.chat.completions.stream(body).finalChatCompletion(), /tool_choice|parallel_tool_calls/);
    const s = await rawStream(h.url, body);
    assert.equal(s.error.code, 'tool_choice_violation');
    assert.equal(s.error.type, 'invalid_response_error');
    assert.match(s.error.message, /tool_choice|parallel_tool_calls/);
  }
  assert.match(h.log(), /violation=/);
});

test('parallel_false_with_one_call_is_fine', async () => {
  const r = await h.client().chat.completions.create(req('weather', { parallel_tool_calls: false }));
  assert.equal(r.choices[0].message.tool_calls.length, 1);
});

test('access_log_has_one_line_per_request_with_upstream_time_tokens_calls', async () => {
  await h.client().chat.completions.create(req('weather'));
  const line = h.log().trim().split('\n').filter((l) => l.includes('POST /v1/chat/completions')).pop();
  assert.match(line, /POST \/v1\/chat\/completions 200 .*upstream_ms=[0-9.]+ .*tokens=\d+\+\d+ calls=1 finish=tool_calls/);
});

test('tools_list_is_forwarded_to_chat_upstream', async () => {
  await h.client().chat.completions.create(req('weather'));
  const up = await h.lastUpstreamRequest();
  assert.deepEqual(up.tools.map((t) => t.function.name), TOOLS.map((t) => t.function.name));
  assert.equal(up.stream, true);
  assert.equal(up.model, 'deepseek-v4-flash', 'alias resolved to the upstream model');
});
