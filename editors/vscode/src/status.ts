// Status-bar text, progress bookkeeping and the shapes of the mochi.* command results.
// Pure: no vscode import.

/** LSP WorkDoneProgress values (begin / report / end). */
export interface ProgressValue {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
}

/** The result of `mochi.status` (the fields the extension uses). */
export interface ServerStatus {
  model?: string | null;
  backend?: string | null;
  modelHealth?: string | null;
  modelError?: string | null;
  indexError?: string | null;
  adapters?: string[];
  expert?: string | null;
  trainer?: string | null;
  [key: string]: unknown;
}

export interface LspLocation {
  uri: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
}

/** Tracks the server's running `$/progress` operations (indexing, training, …). */
export class ProgressTracker {
  private readonly running = new Map<string, { title: string; message?: string; percentage?: number }>();

  update(token: string | number, value: ProgressValue): void {
    const key = String(token);
    if (value.kind === 'end') {
      this.running.delete(key);
      return;
    }
    const old = this.running.get(key);
    this.running.set(key, {
      title: value.title ?? old?.title ?? 'mochi',
      message: value.message ?? old?.message,
      percentage: value.percentage ?? old?.percentage,
    });
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  /** The latest running operation, e.g. "indexing 42%", or undefined when idle. */
  current(): string | undefined {
    const last = [...this.running.values()].pop();
    if (!last) return undefined;
    const title = last.title.replace(/^mochi:\s*/, '');
    return last.percentage !== undefined ? `${title} ${Math.round(last.percentage)}%` : title;
  }
}

/** The status-bar text: progress while something runs, else the active expert. */
export function statusBarText(progress: ProgressTracker, expert: string | null | undefined, running: boolean): string {
  if (!running) return '$(circle-slash) mochi';
  const now = progress.current();
  if (now) return `$(sync~spin) mochi: ${now}`;
  return expert ? `$(sparkle) mochi: ${expert}` : '$(sparkle) mochi';
}

/** The expert names `mochi.status` lists, with the router ("automatic") first. */
export function expertChoices(status: ServerStatus | null | undefined): string[] {
  const adapters = Array.isArray(status?.adapters) ? status!.adapters.filter((a) => typeof a === 'string') : [];
  return ['(automatic)', ...adapters];
}

/** The `mochi.selectExpert` argument for a quick-pick choice (null = the router). */
export function expertArgument(choice: string): string | null {
  return choice === '(automatic)' ? null : choice;
}

/** One quick-pick row per search hit: file (relative to `root`) and line range. */
export function searchItems(locations: unknown, root?: string): { label: string; description: string; location: LspLocation }[] {
  if (!Array.isArray(locations)) return [];
  return locations
    .filter((l): l is LspLocation => typeof l?.uri === 'string' && typeof l?.range?.start?.line === 'number')
    .map((location) => {
      let path = decodeURIComponent(location.uri.replace(/^file:\/\//, ''));
      if (root && path.startsWith(root.replace(/\/$/, '') + '/')) path = path.slice(root.replace(/\/$/, '').length + 1);
      const start = location.range.start.line + 1;
      const end = location.range.end.line + 1;
      return { label: path, description: end > start ? `lines ${start}-${end}` : `line ${start}`, location };
    });
}
