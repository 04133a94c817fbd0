// The official OpenAI Node.js client against golem serve. server/openai_client_test.go
// starts the servers on 127.0.0.1 and passes, in the environment:
//   GOLEM_BASE_URL   stories260K, --parallel 2
//   GOLEM_BUSY_URL   a server whose one slot is taken and whose queue is off
//   GOLEM_EMBED_URL  a BERT model (optional: the embedding test skips without it)
//   GOLEM_EXPECTED   JSON: the greedy texts and embeddings golem's Go API gives
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const expected = JSON.parse(process.env.GOLEM_EXPECTED ?? '{}');
const client = (url) => new OpenAI({ baseURL: url + '/v1', apiKey: 'not-needed', maxRetries: 0, timeout: 60_000 });
const golem = client(process.env.GOLEM_BASE_URL);
const chatMessages = [
  { role: 'system', content: 'You tell stories.' },
  { role: 'user', content: 'Tell me about Lily.' },
];

test('models: the one model, whatever the id', async () => {
  const list = await golem.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].id, 'stories260K');
  assert.equal(list.data[0].object, 'model');
  const one = await golem.models.retrieve('gpt-4o');
  assert.equal(one.id, 'stories260K');
});

test('chat completion', async () => {
  const res = await golem.chat.completions.create({
    model: 'gpt-4o', messages: chatMessages, max_tokens: 30, temperature: 0,
  });
  assert.equal(res.object, 'chat.completion');
  assert.match(res.id, /^chatcmpl-/);
  assert.equal(res.choices.length, 1);
  assert.equal(res.choices[0].message.role, 'assistant');
  assert.equal(res.choices[0].message.content, expected.chat);
  assert.equal(res.choices[0].finish_reason, 'length');
  assert.equal(res.usage.completion_tokens, 30);
  assert.equal(res.usage.prompt_tokens, expected.chatPromptTokens);
  assert.equal(res.usage.total_tokens, expected.chatPromptTokens + 30);
});

test('streaming chat completion', async () => {
  const stream = await golem.chat.completions.create({
    model: 'gpt-4o', messages: chatMessages, max_tokens: 30, temperature: 0,
    stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks > 3, `${chunks} chunks`);
  assert.equal(text, expected.chat);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 30);
  assert.equal(usage.prompt_tokens, expected.chatPromptTokens);
});

test('stream helper (runner) assembles the message', async () => {
  const runner = golem.chat.completions.stream({
    model: 'x', messages: chatMessages, max_tokens: 30, temperature: 0,
  });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, expected.chat);
  assert.equal(final.choices[0].finish_reason, 'length');
});

test('stop string ends the answer with finish_reason stop', async () => {
  const res = await golem.completions.create({
    model: 'x', prompt: 'Once upon a time', max_tokens: 60, temperature: 0, stop: ['Lily'],
  });
  assert.equal(res.choices[0].text, ', there was a little girl named ');
  assert.equal(res.choices[0].finish_reason, 'stop');
});

test('text completion, streamed and not', async () => {
  const res = await golem.completions.create({
    model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time', max_tokens: 40, temperature: 0,
  });
  assert.equal(res.object, 'text_completion');
  assert.equal(res.choices[0].text, expected.completion);
  assert.equal(res.choices[0].finish_reason, 'length');
  assert.equal(res.usage.prompt_tokens, expected.completionPromptTokens);
  assert.equal(res.usage.completion_tokens, 40);

  const stream = await golem.completions.create({
    model: 'x', prompt: 'Once upon a time', max_tokens: 40, temperature: 0, stream: true,
  });
  let text = '';
  let finish = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, expected.completion);
  assert.equal(finish, 'length');
});

test('seeded sampling repeats', async () => {
  const req = { model: 'x', prompt: 'Once upon a time', max_tokens: 30, temperature: 1, top_p: 0.9, seed: 7, frequency_penalty: 0.5, presence_penalty: 0.2 };
  const a = await golem.completions.create(req);
  const b = await golem.completions.create(req);
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('an aborted stream frees its slot', async () => {
  const controller = new AbortController();
  const stream = await golem.completions.create(
    { model: 'x', prompt: 'Once upon a time', temperature: 0, stream: true },
    { signal: controller.signal },
  );
  let n = 0;
  try {
    for await (const chunk of stream) {
      if (++n === 2) controller.abort();
    }
  } catch (err) {
    // The client either ends the iteration quietly or throws its abort error.
    assert.ok(err instanceof OpenAI.APIUserAbortError || err.name === 'AbortError', String(err));
  }
  assert.ok(n < 500, `${n} chunks after the abort`);
  // Both slots serve again.
  const res = await Promise.all([1, 2].map(() => golem.completions.create({ model: 'x', prompt: 'Once', max_tokens: 5, temperature: 0 })));
  for (const r of res) assert.equal(r.usage.completion_tokens, 5);
});

test('error: prompt plus max_tokens beyond the context', async () => {
  await assert.rejects(
    golem.chat.completions.create({ model: 'x', messages: chatMessages, max_tokens: 100000 }),
    (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.code, 'context_length_exceeded');
      assert.equal(err.param, 'max_tokens');
      assert.equal(err.type, 'invalid_request_error');
      assert.match(err.message, /context/);
      return true;
    },
  );
});

test('error: bad parameter values and types', async () => {
  await assert.rejects(golem.completions.create({ model: 'x', prompt: 'a', temperature: 5 }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'temperature');
  await assert.rejects(golem.completions.create({ model: 'x', prompt: 'a', max_tokens: 'ten' }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'max_tokens' && err.code === 'invalid_type');
  await assert.rejects(golem.chat.completions.create({ model: 'x', messages: [] }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'messages');
  await assert.rejects(golem.chat.completions.create({ model: 'x', messages: chatMessages, n: 3 }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === 'n');
});

test('error: a busy server answers 503', async () => {
  const busy = client(process.env.GOLEM_BUSY_URL);
  await assert.rejects(busy.chat.completions.create({ model: 'x', messages: chatMessages }),
    (err) => {
      assert.ok(err instanceof OpenAI.InternalServerError, String(err));
      assert.equal(err.status, 503);
      assert.equal(err.code, 'server_busy');
      return true;
    });
});

test('error: a model without embeddings', async () => {
  const busy = client(process.env.GOLEM_BUSY_URL);
  await assert.rejects(busy.embeddings.create({ model: 'x', input: 'hello' }),
    (err) => err instanceof OpenAI.BadRequestError && err.code === 'model_not_supported');
});

test('embeddings', { skip: process.env.GOLEM_EMBED_URL ? false : 'no BERT model (GOLEM_SHARED unset)' }, async () => {
  const bert = client(process.env.GOLEM_EMBED_URL);
  // The client asks for base64 by default and decodes it.
  const res = await bert.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'a cat sat on the mat'] });
  assert.equal(res.object, 'list');
  assert.equal(res.data.length, 2);
  res.data.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.equal(d.embedding.length, expected.embeddings[i].length);
    d.embedding.forEach((x, j) => assert.ok(Math.abs(x - expected.embeddings[i][j]) < 1e-6, `[${i}][${j}] ${x}`));
  });
  assert.equal(res.usage.prompt_tokens, expected.embeddingTokens);
  const floats = await bert.embeddings.create({ model: 'x', input: 'hello world', encoding_format: 'float' });
  floats.data[0].embedding.forEach((x, j) => assert.ok(Math.abs(x - expected.embeddings[0][j]) < 1e-6));
  await assert.rejects(bert.chat.completions.create({ model: 'x', messages: chatMessages }),
    (err) => err instanceof OpenAI.BadRequestError && err.code === 'model_not_supported');
});
