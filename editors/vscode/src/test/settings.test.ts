import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { debounceMs, initializationOptions, serverCommand } from '../settings';

const reader = (values: Record<string, unknown>) => (key: string) => values[key];

test('unset settings give no initializationOptions', () => {
  assert.deepEqual(initializationOptions(reader({})), {});
  assert.deepEqual(
    initializationOptions(reader({ 'model.name': '', 'model.backend': '  ', 'completion.maxTokens': null })),
    {},
  );
});

test('set settings become the camelCase tree', () => {
  const options = initializationOptions(
    reader({
      'model.backend': 'vllm',
      'model.name': 'qwen',
      'model.vllmUrl': 'http://127.0.0.1:8000',
      'store.url': 'http://qdrant:6333',
      'trainer.url': 'http://trainer:9000',
      'trainer.token': 'secret',
      'completion.contextTokens': 0,
      'completion.maxTokens': 64,
    }),
  );
  assert.deepEqual(options, {
    model: { backend: 'vllm', name: 'qwen', vllmUrl: 'http://127.0.0.1:8000' },
    store: { backend: 'qdrant', url: 'http://qdrant:6333' },
    trainer: { url: 'http://trainer:9000', token: 'secret' },
    completion: { contextTokens: 0, maxTokens: 64 },
  });
});

test('only the sections with a set value appear', () => {
  assert.deepEqual(initializationOptions(reader({ 'completion.maxTokens': 16, 'completion.contextTokens': 1.5 })), {
    completion: { maxTokens: 16 },
  });
});

test('server command and debounce defaults', () => {
  assert.deepEqual(serverCommand(reader({})), { command: 'mochi', args: ['serve'] });
  assert.deepEqual(serverCommand(reader({ serverPath: '/x/.venv/bin/mochi', serverArgs: ['serve', '--log-file', '/tmp/l'] })), {
    command: '/x/.venv/bin/mochi',
    args: ['serve', '--log-file', '/tmp/l'],
  });
  assert.deepEqual(serverCommand(reader({ serverArgs: [] })).args, ['serve']);
  // used as the client's ServerOptions as is: no `transport`, so no `--stdio` is appended
  assert.equal('transport' in serverCommand(reader({})), false);
  assert.equal(debounceMs(reader({})), 150);
  assert.equal(debounceMs(reader({ debounceMs: 0 })), 0);
  assert.equal(debounceMs(reader({ debounceMs: -3 })), 150);
});
