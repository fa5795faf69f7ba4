#!/usr/bin/env bash
# Sets up the VS Code extension-host end-to-end test (tests/editors/test_vscode_host.py):
# code-server 4.100.3 (a real VS Code extension host, from npm) and playwright-core in
# editors/vscode/e2e/node_modules, driving Debian's Chromium headless. Idempotent: a second
# run with nothing changed takes a second. Only Debian's and npm's registries are used:
#   - apt: a C/C++ tool chain and libkrb5-dev for code-server's native modules (built from
#     source: their prebuilt binaries would come from GitHub), ripgrep, chromium, a font;
#   - ripgrep: @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache
#     ($TMPDIR/vscode-ripgrep-cache-VERSION/ripgrep-vX-TARGET.tar.gz) has it: Debian's rg
#     (the same 13.0.0) goes there;
#   - npm ci in editors/vscode/e2e (code-server's postinstall runs `npm install` in its
#     bundled VS Code; node-pty's runs `npx node-gyp`, hence npm_config_yes).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
e2e="$repo_root/editors/vscode/e2e"
# code-server 4.100.3 bundles @vscode/ripgrep 1.15.11, which fetches ripgrep v13.0.0-10
ripgrep_pkg_version=1.15.11
ripgrep_release=v13.0.0-10

say() { echo "setup_vscode_e2e: $*" >&2; }

# 1. Debian packages
apt_packages=(build-essential python3 pkg-config libkrb5-dev ripgrep chromium fonts-dejavu-core)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    say "apt-get install ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# 2. Node 20 (code-server 4.100 refuses any other major version)
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)"
if [[ "$node_major" != 20 ]]; then
    say "code-server 4.100.3 needs Node 20; found: $node_major"
    exit 1
fi

# 3. Debian's rg where @vscode/ripgrep looks for its cached download
case "$(uname -m)" in
    x86_64) rg_target=x86_64-unknown-linux-musl ;;
    aarch64 | arm64) rg_target=aarch64-unknown-linux-musl ;;
    *)
        say "unsupported machine $(uname -m)"
        exit 1
        ;;
esac
rg_cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-$ripgrep_pkg_version"
rg_tarball="$rg_cache/ripgrep-$ripgrep_release-$rg_target.tar.gz"
if [[ ! -s "$rg_tarball" ]]; then
    staging="$(mktemp -d)"
    cp "$(command -v rg)" "$staging/rg"
    mkdir -p "$rg_cache"
    tar czf "$rg_tarball.tmp" -C "$staging" rg
    mv "$rg_tarball.tmp" "$rg_tarball"
    rm -rf "$staging"
    say "placed Debian's rg in $rg_tarball"
fi

# 4. code-server and playwright-core (skipped when this lockfile is already installed)
stamp="$e2e/node_modules/.mochi-e2e-installed"
want="$(sha256sum "$e2e/package-lock.json" | cut -d' ' -f1)"
vscode_modules="$e2e/node_modules/code-server/lib/vscode/node_modules"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" || ! -x "$vscode_modules/@vscode/ripgrep/bin/rg" ]]; then
    say "npm ci in editors/vscode/e2e (builds code-server's native modules: a few minutes)"
    # node-gyp would download Node's headers from nodejs.org: use the installed ones
    if [[ -f /usr/include/node/node.h && -z "${npm_config_nodedir:-}" ]]; then
        export npm_config_nodedir=/usr
    fi
    (cd "$e2e" && npm_config_yes=true npm_config_unsafe_perm=true \
        npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
fi

# 5. what the test needs, or a clear error
cs_config="$e2e/node_modules/.mochi-e2e-code-server.yaml" # not ~/.config/code-server
printf "auth: none\n" >"$cs_config"
export XDG_DATA_HOME="$e2e/node_modules/.mochi-e2e-data" # its logs: not ~/.local/share
"$e2e/node_modules/.bin/code-server" --config "$cs_config" --version >/dev/null
[[ -d "$e2e/node_modules/playwright-core" ]]
chromium="$(command -v chromium || command -v chromium-browser)"
say "ready: code-server $("$e2e/node_modules/.bin/code-server" --config "$cs_config" --version | head -1 | cut -d' ' -f1)," \
    "$("$chromium" --version 2>/dev/null | head -1)"
