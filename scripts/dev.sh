#!/usr/bin/env bash
# One entry point for a fresh clone: `bash scripts/dev.sh demo` or `bash scripts/dev.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# Not silenced: a warning here (a bin that could not be linked, a skipped build script) is a bug.
pnpm install --frozen-lockfile
case "${1:-}" in
  demo) shift; pnpm run --silent build && pnpm run --silent demo "$@" ;;
  test) shift; pnpm run --silent build && pnpm run test "$@" ;;
  *) echo "usage: bash scripts/dev.sh demo|test" >&2; exit 2 ;;
esac
