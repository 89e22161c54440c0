#!/usr/bin/env bash
# Packs every package as it would be published (pnpm pack: workspace: ranges become versions)
# into OUT/packs/freshkey-<name>.tgz and checks each tarball with arethetypeswrong: types must
# resolve for node10, node16 (CJS and ESM) and bundlers. Needs a build. Usage: scripts/pack.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
out="${1:?usage: bash scripts/pack.sh OUT_DIR}"
packs="$out/packs"
rm -rf "$packs" && mkdir -p "$packs"
pnpm --filter './packages/*' exec pnpm pack --pack-destination "$packs" >/dev/null
for tarball in "$packs"/*.tgz; do
  stable="$(basename "$tarball" | sed -E 's/-[0-9]+\.[0-9]+\.[0-9]+(-[^.]+)?\.tgz$/.tgz/')"
  mv "$tarball" "$packs/$stable"
done
status=0
for tarball in "$packs"/*.tgz; do
  if tar -tzf "$tarball" | grep -q '\.tsbuildinfo$'; then
    echo "$(basename "$tarball") ships a .tsbuildinfo" >&2
    status=1
  fi
  pnpm exec attw --no-definitely-typed --no-color --format table-flipped "$tarball" || status=1
done
exit "$status"
