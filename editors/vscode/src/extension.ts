// mochi for VS Code: starts `mochi serve` (stdio LSP), inline completions (LSP 3.18
// textDocument/inlineCompletion, debounced), the mochi.* commands, progress and the
// active expert in the status bar.
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  StaticFeature,
  DynamicFeature,
} from 'vscode-languageclient/node';
import { answerMarkdown, AskResult, questionFor } from './ask';
import { settle } from './inline';
import { debounceMs, initializationOptions, RESTART_SETTINGS, serverCommand, SettingsReader } from './settings';
import { expertArgument, expertChoices, ProgressTracker, ProgressValue, searchItems, ServerStatus, statusBarText } from './status';

const LANGUAGES = ['python', 'javascript', 'typescript', 'typescriptreact', 'go', 'rust', 'java', 'c', 'cpp', 'markdown'];
/** Commands the extension registers itself (with UI); the server's others stay the client's. */
const OWNED = ['mochi.reindex', 'mochi.search', 'mochi.status', 'mochi.train', 'mochi.selectExpert', 'mochi.ask', 'mochi.explainCompletion'];

/** The language client, minus its auto-registration of the commands this extension owns. */
class MochiClient extends LanguageClient {
  public override registerFeature(feature: StaticFeature | DynamicFeature<any>): void {
    if ('registrationType' in feature && feature.registrationType.method === ExecuteCommandRequest.method) {
      const register = feature.register.bind(feature);
      feature.register = (data) => {
        const commands: string[] = data.registerOptions?.commands ?? [];
        register({ ...data, registerOptions: { ...data.registerOptions, commands: commands.filter((c) => !OWNED.includes(c)) } });
      };
    }
    super.registerFeature(feature);
  }
}

let client: MochiClient | undefined;
let output: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
const progress = new ProgressTracker();
let expert: string | null | undefined;
/** The running start/restart, so a settings change never starts a second server. */
let starting: Promise<void> = Promise.resolve();

const settings: SettingsReader = (key) => vscode.workspace.getConfiguration('mochi').get(key);

function render(): void {
  statusItem.text = statusBarText(progress, expert, client?.state === State.Running);
}

/** false (and an error message) when the server executable cannot run (async: no UI freeze). */
async function serverRuns(command: string): Promise<boolean> {
  const why = await new Promise<string | undefined>((resolve) =>
    execFile(command, ['--help'], { timeout: 30_000 }, (err, _stdout, stderr) =>
      resolve(err ? `${err.message}${stderr ? `: ${String(stderr).trim().slice(0, 300)}` : ''}` : undefined),
    ),
  );
  if (why === undefined) return true;
  output.appendLine(`cannot run ${command} --help: ${why}`);
  void vscode.window
    .showErrorMessage(
      `mochi: cannot run "${command}" (${why}). Install mochi with \`bash scripts/setup.sh\` in the mochi repository, ` +
        'then set "mochi.serverPath" to its .venv/bin/mochi (or put mochi on PATH).',
      'Open Settings',
    )
    .then((pick) => pick && vscode.commands.executeCommand('workbench.action.openSettings', 'mochi.serverPath'));
  return false;
}

async function start(): Promise<void> {
  const { command, args } = serverCommand(settings);
  if (!(await serverRuns(command))) return render();
  // stdio, but no `transport`: TransportKind.stdio makes the client append `--stdio` to the
  // arguments, which `mochi serve` rejects (found by the extension-host end-to-end test).
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.flatMap((language) => [
      { scheme: 'file', language },
      { scheme: 'untitled', language },
    ]),
    initializationOptions: initializationOptions(settings),
    outputChannel: output,
    middleware: {
      // Debounce: VS Code cancels the request on the next keystroke; only a pause gets through.
      provideInlineCompletionItems: async (document, position, context, token, next) =>
        (await settle(debounceMs(settings), token)) ? next(document, position, context, token) : undefined,
      handleWorkDoneProgress: (token, params, next) => {
        progress.update(token, params as ProgressValue);
        render();
        next(token, params); // the usual progress notification as well
      },
    },
  };
  client = new MochiClient('mochi', 'mochi', serverOptions, clientOptions);
  client.registerProposedFeatures(); // textDocument/inlineCompletion (LSP 3.18)
  client.onDidChangeState(() => render());
  try {
    await client.start();
    void refreshExpert();
  } catch (err) {
    output.appendLine(`mochi serve failed to start: ${err}`);
    void vscode.window.showErrorMessage(`mochi: the language server failed to start (see the "mochi" output).`);
  }
  render();
}

async function stop(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) await old.stop().catch((err) => output.appendLine(`stop: ${err}`));
  render();
}

/** Runs a server command; undefined (and a message) when there is no server or it fails. */
async function exec<T>(command: string, args: unknown[] = []): Promise<T | undefined> {
  if (!client || client.state !== State.Running) {
    void vscode.window.showWarningMessage('mochi: the language server is not running (see the "mochi" output).');
    return undefined;
  }
  try {
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args })) as T;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    output.appendLine(`${command} failed: ${message}`);
    void vscode.window.showErrorMessage(`mochi: ${command} failed: ${message}`);
    return undefined;
  }
}

async function refreshExpert(): Promise<ServerStatus | undefined> {
  const status = await exec<ServerStatus>('mochi.status');
  if (status) expert = status.expert ?? null;
  render();
  return status;
}

async function search(query?: string): Promise<void> {
  query ??= await vscode.window.showInputBox({ prompt: 'mochi: semantic search of code, docs and history' });
  if (!query) return;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const items = searchItems(await exec('mochi.search', [query]), root);
  if (items.length === 0) return void vscode.window.showInformationMessage(`mochi: nothing found for ${query}`);
  const pick = await vscode.window.showQuickPick(items, { title: `mochi search: ${query}`, matchOnDescription: true });
  if (!pick) return;
  const { start: s, end: e } = pick.location.range;
  await vscode.window.showTextDocument(vscode.Uri.parse(pick.location.uri), {
    selection: new vscode.Range(s.line, s.character, e.line, e.character),
  });
}

/** Asks a question (or about the selection) and shows the cited answer as Markdown. */
async function ask(question?: string): Promise<void> {
  if (!question) {
    const editor = vscode.window.activeTextEditor;
    const selection = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : '';
    const typed = await vscode.window.showInputBox({
      prompt: selection ? 'mochi: ask about the selection (empty = explain it)' : 'mochi: ask about this repository',
    });
    if (typed === undefined || (!typed.trim() && !selection)) return;
    question = questionFor(typed, selection, editor?.document.languageId ?? '');
  }
  const asked = question;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'mochi: answering…', cancellable: false },
    () => exec<AskResult>('mochi.ask', [asked]),
  );
  if (!result) return;
  const page = await vscode.workspace.openTextDocument({ language: 'markdown', content: answerMarkdown(asked, result) });
  await vscode.window.showTextDocument(page, { preview: true });
  await vscode.commands.executeCommand('markdown.showPreview', page.uri);
}

async function showStatus(): Promise<void> {
  const status = await refreshExpert();
  if (!status) return;
  output.appendLine(`status: ${JSON.stringify(status, null, 2)}`);
  output.show(true);
  const summary = `model ${status.model ?? '-'} (${status.backend ?? '-'}, ${status.modelHealth ?? '-'}), expert ${status.expert ?? 'automatic'}, trainer ${status.trainer ?? '-'}`;
  void vscode.window.showInformationMessage(`mochi: ${summary}`);
}

async function selectExpert(): Promise<void> {
  const status = await exec<ServerStatus>('mochi.status');
  if (!status) return;
  const pick = await vscode.window.showQuickPick(expertChoices(status), { title: 'mochi: expert for completions' });
  if (pick === undefined) return;
  await exec('mochi.selectExpert', [expertArgument(pick)]);
  await refreshExpert();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('mochi');
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  statusItem.command = 'mochi.status';
  statusItem.tooltip = 'mochi: show status';
  statusItem.show();
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand('mochi.reindex', async () => {
      const report = await exec('mochi.reindex');
      if (report) output.appendLine(`reindex: ${JSON.stringify(report)}`);
    }),
    vscode.commands.registerCommand('mochi.search', (query?: string) => search(query)),
    vscode.commands.registerCommand('mochi.status', showStatus),
    vscode.commands.registerCommand('mochi.train', async () => {
      const job = await exec('mochi.train');
      if (job) void vscode.window.showInformationMessage(`mochi: training started (${JSON.stringify(job)})`);
    }),
    vscode.commands.registerCommand('mochi.selectExpert', selectExpert),
    vscode.commands.registerCommand('mochi.ask', (question?: string) => ask(question)),
    vscode.commands.registerCommand('mochi.explainCompletion', async () => {
      const uri = vscode.window.activeTextEditor?.document.uri.toString();
      const why = await exec('mochi.explainCompletion', uri ? [uri] : []);
      output.appendLine(`last completion: ${why ? JSON.stringify(why, null, 2) : 'none served here yet'}`);
      output.show(true);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('mochi')) return;
      await starting;
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s)) || !client) {
        starting = stop().then(start);
        return starting;
      }
      if (client.state === State.Running) {
        await client.sendNotification(DidChangeConfigurationNotification.type, {
          settings: { mochi: initializationOptions(settings) },
        });
      }
    }),
  );
  render();
  starting = start();
  await starting;
}

export function deactivate(): Promise<void> {
  return stop();
}
