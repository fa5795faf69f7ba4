import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { CancellationLike, settle } from '../inline';

function token(): CancellationLike & { cancel(): void } {
  const listeners = new Set<() => unknown>();
  const t = {
    isCancellationRequested: false,
    onCancellationRequested(listener: () => unknown) {
      listeners.add(listener);
      return { dispose: () => listeners.delete(listener) };
    },
    cancel() {
      t.isCancellationRequested = true;
      for (const l of [...listeners]) l();
    },
  };
  return t;
}

test('settle resolves true after the delay', async () => {
  const started = Date.now();
  assert.equal(await settle(30, token()), true);
  assert.ok(Date.now() - started >= 25);
});

test('settle resolves false at once when cancelled during the delay', async () => {
  const t = token();
  const started = Date.now();
  const pending = settle(10_000, t);
  setTimeout(() => t.cancel(), 10);
  assert.equal(await pending, false);
  assert.ok(Date.now() - started < 1000);
});

test('settle with an already cancelled token or no delay', async () => {
  const t = token();
  t.cancel();
  assert.equal(await settle(10, t), false);
  assert.equal(await settle(0, token()), true);
});

test('only the last of rapid requests gets through (debounce)', async () => {
  const results: Promise<boolean>[] = [];
  let previous: ReturnType<typeof token> | undefined;
  for (let i = 0; i < 5; i++) {
    previous?.cancel(); // what VS Code does on the next keystroke
    previous = token();
    results.push(settle(20, previous));
  }
  assert.deepEqual(await Promise.all(results), [false, false, false, false, true]);
});
