#!/usr/bin/env bash
# Runs every app in fixtures/ the way a user would get freshkey: copied out of this repository
# (no workspace, no hoisted node_modules to lean on), installed from the tarballs of
# scripts/pack.sh, then `pnpm run check`. Any failure fails the run; nothing is skipped.
# Usage: scripts/fixtures.sh OUT [name...]   (OUT/packs must hold the tarballs)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
out="${1:?usage: bash scripts/fixtures.sh OUT_DIR [fixture...]}"
shift
case "$(cd "$out" && pwd -P)/" in "$(pwd -P)/"*) echo "OUT must be outside the repository" >&2; exit 2 ;; esac
[ -f "$out/packs/freshkey-core.tgz" ] || { echo "no tarballs in $out/packs: run scripts/pack.sh $out first" >&2; exit 1; }
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls fixtures))
for name in "${names[@]}"; do
  started=$SECONDS
  dir="$out/fixtures/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "fixtures/$name" && git ls-files -co --exclude-standard . | tar -cf - -T -) | tar -xf - -C "$dir"
  echo "-- fixture $name: install from tarballs"
  (cd "$dir" && pnpm install --no-frozen-lockfile --config.lockfile=false --config.confirmModulesPurge=false)
  echo "-- fixture $name: pnpm run check"
  (cd "$dir" && pnpm run check)
  echo "-- fixture $name: ok in $((SECONDS - started)) s"
done
