"""`mochi demo [PATH]`: start the language server on a workspace the way an editor does,
and show a completion, a hover and a search answered over LSP."""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mochi.server.cli.errors import CliError
from mochi.server.lsp_client import MochiClient

DEFAULT_QUERY = "how does the index recover after a crash"
CONNECT = """
Connect an editor ({editors}/README.md has the details):
  Neovim 0.11+:  the plugin in {editors}/neovim, in init.lua:
                   vim.opt.runtimepath:append('{editors}/neovim')
                   require('mochi').setup({{ cmd = '{exe}' }})
  VS Code:       the extension in {editors}/vscode: `npm ci && npm run package` there,
                   `code --install-extension mochi-0.1.0.vsix`, and mochi.serverPath = {exe}
  Any other:     its LSP client with the command `{exe} serve` (stdio), or
                   `{exe} serve --tcp 127.0.0.1:2087` to connect over TCP
"""


def connect_text() -> str:
    """How to connect an editor, with this installation's paths (the `editors` folder of
    the mochi checkout, when mochi runs from one)."""
    checkout = Path(__file__).resolve().parents[4]
    editors = checkout / "editors"
    shown = str(editors) if (editors / "neovim").is_dir() else "editors (in the mochi repository)"
    exe = shutil.which("mochi", path=str(Path(sys.executable).parent)) or "mochi"
    return CONNECT.format(editors=shown, exe=exe)


_RETURN = re.compile(r"^(\s+)return (\S.*)$")
_DEF = re.compile(r"^\s*def (\w+)\(")


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "demo", help="start the server on a workspace and show completion, hover and search"
    )
    p.add_argument("path", nargs="?", default=".", type=Path, help="workspace root (default: .)")
    p.add_argument("--query", default=DEFAULT_QUERY, help="the search to run")
    p.set_defaults(run=run)


def pick_demo_spot(root: Path) -> tuple[Path, int, str, int, str]:
    """A Python file with a `return` to complete and a function to hover."""
    for path in sorted(root.rglob("*.py")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        lines = path.read_text(errors="replace").split("\n")
        returns = [i for i, ln in enumerate(lines) if _RETURN.match(ln)]
        defs = [i for i, ln in enumerate(lines) if _DEF.match(ln)]
        if returns and defs:
            line = returns[len(returns) // 2]
            match = _DEF.match(lines[defs[0]])
            assert match is not None
            return path, line, lines[line], defs[0], match.group(1)
    raise CliError(f"no Python function with a return statement under {root}")


def _where(location: dict[str, Any], root: Path) -> str:
    path = Path(unquote(urlparse(location["uri"]).path))
    rel = path.relative_to(root) if path.is_relative_to(root) else path
    return f"{rel}:{location['range']['start']['line'] + 1}"


async def demo(root: Path, query: str) -> None:
    client = MochiClient()
    print(f"starting `mochi serve` on {root} (indexing; the first run embeds everything)…")
    await client.start(root, {})
    print(f"  index: {client.progress[-1] if client.progress else 'ready'}")
    for message in client.messages:
        print(f"  server says: {message}")
    path, line, text, def_line, name = pick_demo_spot(root)
    rel = path.relative_to(root)
    source = path.read_text(errors="replace").split("\n")
    match = _RETURN.match(text)
    assert match is not None
    cut = len(match.group(1)) + len("return ")
    # Open the file as if the user had just typed `return ` on that line.
    typed = [*source[:line], text[:cut], *source[line + 1 :]]
    uri = client.open(path, "\n".join(typed))
    suggestion = await client.inline(uri, line, cut)
    print(f"\ncompletion at {rel}:{line + 1} after `{text[:cut].strip()} `:")
    print(f"  model suggests: {suggestion!r}")
    print(f"  the author wrote: {match.group(2)!r}")
    hover = await client.hover(uri, def_line, source[def_line].index(name) + 1)
    print(f"\nhover on `{name}` ({rel}:{def_line + 1}):")
    for row in (hover or "(nothing)").split("\n")[:12]:
        print(f"  {row}")
    hits = await client.command("mochi.search", query, 5)
    print(f"\nsearch {query!r}:")
    for hit in hits:
        print(f"  {_where(hit, root)}")
    await client.stop()
    print(connect_text())


def run(args: argparse.Namespace) -> int:
    root = args.path.expanduser().resolve()
    if not root.is_dir():
        raise CliError(f"{root} is not a folder")
    asyncio.run(demo(root, args.query))
    return 0
