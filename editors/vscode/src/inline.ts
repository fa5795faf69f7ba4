// Inline completion helpers. Pure: no vscode import (the token type is structural).

export interface CancellationLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

/**
 * Waits `ms` unless `token` is cancelled first. VS Code cancels the previous inline
 * completion request on every keystroke, so only the request after a pause of `ms`
 * reaches the server: a debounce. Resolves true when the wait ran out, false on cancel.
 */
export function settle(ms: number, token: CancellationLike): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve(false);
    });
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
  });
}
