#!/usr/bin/env bash
# Runs every app in fixtures/ the way a user would get freshkey: copied out of this repository
# (no workspace, no hoisted node_modules to lean on), installed from the tarballs of
# scripts/pack.sh, then `pnpm run check`. A fixture's variants.json names other versions of its
# dependencies to run it with as well ({ "nest10": { "@nestjs/core": "10.4.9", ... } }).
# Any failure fails the run; nothing is skipped.
# Usage: scripts/fixtures.sh OUT [fixture[:variant]...]   (OUT/packs must hold the tarballs)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
out="${1:?usage: bash scripts/fixtures.sh OUT_DIR [fixture[:variant]...]}"
shift
case "$(cd "$out" && pwd -P)/" in "$(pwd -P)/"*) echo "OUT must be outside the repository" >&2; exit 2 ;; esac
[ -f "$out/packs/freshkey-core.tgz" ] || { echo "no tarballs in $out/packs: run scripts/pack.sh $out first" >&2; exit 1; }
runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
  for name in $(ls fixtures); do
    [ -d "fixtures/$name" ] || continue
    runs+=("$name")
    if [ -f "fixtures/$name/variants.json" ]; then
      for variant in $(node -e "console.log(Object.keys(require('./fixtures/$name/variants.json')).join(' '))"); do
        runs+=("$name:$variant")
      done
    fi
  done
fi
for run in "${runs[@]}"; do
  name="${run%%:*}"
  variant="${run#"$name"}"
  variant="${variant#:}"
  started=$SECONDS
  dir="$out/fixtures/$name${variant:+-$variant}"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "fixtures/$name" && git ls-files -co --exclude-standard . | tar -cf - -T -) | tar -xf - -C "$dir"
  if [ -n "$variant" ]; then
    node -e '
      const fs = require("node:fs")
      const [dir, variant] = process.argv.slice(1)
      const versions = JSON.parse(fs.readFileSync(`${dir}/variants.json`, "utf8"))[variant]
      if (!versions) throw new Error(`no variant ${variant}`)
      const pkg = JSON.parse(fs.readFileSync(`${dir}/package.json`, "utf8"))
      for (const [name, version] of Object.entries(versions)) {
        const field = ["dependencies", "devDependencies"].find((f) => pkg[f]?.[name])
        if (!field) throw new Error(`${name} is not a dependency of the fixture`)
        pkg[field][name] = version
      }
      fs.writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2))
    ' "$dir" "$variant"
  fi
  echo "-- fixture $run: install from tarballs"
  (cd "$dir" && pnpm install --no-frozen-lockfile --config.lockfile=false --config.confirmModulesPurge=false)
  echo "-- fixture $run: pnpm run check"
  (cd "$dir" && pnpm run check)
  echo "-- fixture $run: ok in $((SECONDS - started)) s"
done
