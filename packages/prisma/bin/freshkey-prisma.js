#!/usr/bin/env node
// Committed, so that `pnpm install` links the bin before the first build has made the generator
// it starts (dist/generator-bin.js).
import { existsSync } from 'node:fs'

const generator = new URL('../dist/generator-bin.js', import.meta.url)
if (!existsSync(generator)) {
  console.error('freshkey-prisma: @freshkey/prisma is not built yet (no dist/); run `pnpm run build` first')
  process.exit(1)
}
await import(generator.href)
