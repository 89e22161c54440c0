#!/usr/bin/env bash
# One entry point for a fresh clone: `bash scripts/dev.sh demo` or `bash scripts/dev.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
pnpm install --frozen-lockfile --reporter=silent
case "${1:-}" in
  demo) shift; pnpm run --silent build && pnpm run --silent demo "$@" ;;
  test) shift; pnpm run --silent build && pnpm run test "$@" ;;
  *) echo "usage: bash scripts/dev.sh demo|test" >&2; exit 2 ;;
esac
