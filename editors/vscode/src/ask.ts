// `mochi.ask`'s answer as a Markdown page: the answer with its `path:line` citations, then
// every citation as a link into the workspace (how it was found: cited by the model or
// attributed afterwards). Free of the vscode API so it is unit-tested.

export interface Citation {
  path: string;
  line: number; // 1-based
  endLine?: number;
  uri?: string;
  how?: string; // "cited" | "attributed"
}

export interface AskResult {
  answer?: string;
  citations?: Citation[];
}

/** The question for a selection: what was typed, else "Explain this code", with the code. */
export function questionFor(typed: string, selection: string, language: string): string {
  const ask = typed.trim() || 'Explain this code';
  if (!selection.trim()) return ask;
  return `${ask}:\n\`\`\`${language}\n${selection.replace(/\s+$/, '')}\n\`\`\``;
}

function link(c: Citation): string {
  const span = c.endLine && c.endLine > c.line ? `${c.line}-${c.endLine}` : `${c.line}`;
  const label = `${c.path}:${span}`;
  return c.uri ? `[${label}](${c.uri}#L${c.line})` : label;
}

/** The page shown for one answer; `question` goes first as a quote. */
export function answerMarkdown(question: string, result: AskResult | null | undefined): string {
  const quoted = question.split('\n').map((l) => `> ${l}`).join('\n');
  const answer = (result?.answer ?? '').trim() || '_(no answer)_';
  const citations = Array.isArray(result?.citations) ? result!.citations.filter((c) => typeof c?.path === 'string') : [];
  const rows = citations.map((c) => `- ${link(c)}${c.how === 'attributed' ? ' _(attributed)_' : ''}`);
  const sources = rows.length ? `\n\n**Sources**\n\n${rows.join('\n')}` : '\n\n_No sources cited._';
  return `${quoted}\n\n${answer}${sources}\n`;
}
