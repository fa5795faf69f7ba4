import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { answerMarkdown, questionFor } from '../ask';

test('a selection becomes the question with its code', () => {
  assert.equal(questionFor('  ', '', 'python'), 'Explain this code');
  assert.equal(questionFor('why?', 'x = 1\n\n', 'python'), 'why?:\n```python\nx = 1\n```');
  assert.equal(questionFor('', 'def f(): ...', 'python'), 'Explain this code:\n```python\ndef f(): ...\n```');
});

test('the answer page lists every citation as a link, attributed ones marked', () => {
  const page = answerMarkdown('How is a point moved?', {
    answer: 'Points move by adding offsets [geometry.py:3].',
    citations: [
      { path: 'geometry.py', line: 3, endLine: 7, uri: 'file:///repo/geometry.py', how: 'cited' },
      { path: 'README.md', line: 1, how: 'attributed' },
      { line: 4 } as never,
    ],
  });
  assert.equal(
    page,
    '> How is a point moved?\n\nPoints move by adding offsets [geometry.py:3].\n\n**Sources**\n\n' +
      '- [geometry.py:3-7](file:///repo/geometry.py#L3)\n- README.md:1 _(attributed)_\n',
  );
});

test('an empty or missing answer says so', () => {
  assert.equal(answerMarkdown('q', undefined), '> q\n\n_(no answer)_\n\n_No sources cited._\n');
});
