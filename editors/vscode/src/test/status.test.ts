import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { expertArgument, expertChoices, ProgressTracker, searchItems, statusBarText } from '../status';

test('progress shows in the status bar until it ends', () => {
  const p = new ProgressTracker();
  assert.equal(statusBarText(p, null, true), '$(sparkle) mochi');
  assert.equal(statusBarText(p, 'python', true), '$(sparkle) mochi: python');
  p.update('t1', { kind: 'begin', title: 'mochi: indexing' });
  assert.equal(statusBarText(p, 'python', true), '$(sync~spin) mochi: indexing');
  p.update('t1', { kind: 'report', percentage: 41.6, message: '10/24 files' });
  assert.equal(statusBarText(p, null, true), '$(sync~spin) mochi: indexing 42%');
  p.update('t1', { kind: 'end' });
  assert.equal(p.busy, false);
  assert.equal(statusBarText(p, 'python', true), '$(sparkle) mochi: python');
  assert.equal(statusBarText(p, 'python', false), '$(circle-slash) mochi');
});

test('expert choices come from the status adapters', () => {
  assert.deepEqual(expertChoices({ adapters: ['python', 'docs'] }), ['(automatic)', 'python', 'docs']);
  assert.deepEqual(expertChoices(undefined), ['(automatic)']);
  assert.equal(expertArgument('(automatic)'), null);
  assert.equal(expertArgument('python'), 'python');
});

test('search locations become quick-pick rows relative to the workspace', () => {
  const items = searchItems(
    [
      { uri: 'file:///repo/src/a%20b.py', range: { start: { line: 9, character: 0 }, end: { line: 19, character: 0 } } },
      { uri: 'file:///elsewhere/c.md', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } },
      { bogus: true },
    ],
    '/repo',
  );
  assert.deepEqual(
    items.map((i) => [i.label, i.description]),
    [
      ['src/a b.py', 'lines 10-20'],
      ['/elsewhere/c.md', 'line 1'],
    ],
  );
  assert.deepEqual(searchItems(null), []);
});
