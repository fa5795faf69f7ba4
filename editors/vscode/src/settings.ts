// The extension's settings (`mochi.*`) as the server's initializationOptions: a partial
// camelCase tree merged by the server over the workspace's .mochi.toml. Pure: no vscode.

/** Reads one setting below `mochi.`, e.g. get("model.name"). */
export type SettingsReader = (key: string) => unknown;

export interface InitializationOptions {
  model?: { backend?: string; name?: string; vllmUrl?: string };
  store?: { backend?: string; url?: string };
  trainer?: { url?: string; token?: string };
  completion?: { contextTokens?: number; maxTokens?: number };
}

/** Settings that need the server restarted (the rest go as didChangeConfiguration). */
export const RESTART_SETTINGS = ['mochi.serverPath', 'mochi.serverArgs'];

function text(get: SettingsReader, key: string): string | undefined {
  const value = get(key);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function integer(get: SettingsReader, key: string): number | undefined {
  const value = get(key);
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** Drops undefined values and the sections left empty. */
function prune<T extends object>(tree: T): T {
  const out: Record<string, unknown> = {};
  for (const [section, values] of Object.entries(tree)) {
    const kept = Object.fromEntries(
      Object.entries(values as object).filter(([, v]) => v !== undefined),
    );
    if (Object.keys(kept).length > 0) out[section] = kept;
  }
  return out as T;
}

/** Only the settings the user set; unset ones leave the server's own defaults. */
export function initializationOptions(get: SettingsReader): InitializationOptions {
  const storeUrl = text(get, 'store.url');
  return prune({
    model: {
      backend: text(get, 'model.backend'),
      name: text(get, 'model.name'),
      vllmUrl: text(get, 'model.vllmUrl'),
    },
    // A Qdrant URL only counts with the qdrant store (the default is in-process).
    store: { backend: storeUrl ? 'qdrant' : undefined, url: storeUrl },
    trainer: { url: text(get, 'trainer.url'), token: text(get, 'trainer.token') },
    completion: {
      contextTokens: integer(get, 'completion.contextTokens'),
      maxTokens: integer(get, 'completion.maxTokens'),
    },
  });
}

/** The server's command line: `mochi.serverPath` and `mochi.serverArgs` (default: serve). */
export function serverCommand(get: SettingsReader): { command: string; args: string[] } {
  const args = get('serverArgs');
  return {
    command: text(get, 'serverPath') ?? 'mochi',
    args:
      Array.isArray(args) && args.length > 0 && args.every((a) => typeof a === 'string')
        ? args
        : ['serve'],
  };
}

/** The inline-completion debounce in ms (`mochi.debounceMs`, default 150). */
export function debounceMs(get: SettingsReader): number {
  const value = get('debounceMs');
  return typeof value === 'number' && value >= 0 ? value : 150;
}
