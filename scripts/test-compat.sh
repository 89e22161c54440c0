#!/usr/bin/env bash
# The previous major of each ORM (README "Supported versions"): the adapter's own tests and its
# conformance driver against TypeORM 0.3, MikroORM 6 and Prisma 6. Needs the servers the test
# command needs (REDIS_URL, DATABASE_URL, or the binaries to start throwaway ones).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
step() { local started=$SECONDS; echo "== compat: $1"; shift; "$@"; echo "== compat: done in $((SECONDS - started)) s"; }
step 'TypeORM 0.3.20' pnpm --filter @freshkey/typeorm-compat-0.3 test
step 'MikroORM 6.6' pnpm exec vitest run --config packages/mikro-orm/compat/6/vitest.config.ts
step 'Prisma 6.19 (adapter tests)' pnpm exec vitest run --config packages/prisma/compat/6/vitest.config.ts packages/prisma
# Prisma 6's interactive transactions have no nested savepoints: its driver declares no savepoint scenario.
step 'Prisma 6.19 (conformance)' pnpm exec vitest run --config packages/prisma/compat/6/vitest.config.ts test/conformance
