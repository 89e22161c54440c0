import type { UserConfig } from 'tsdown'

// TypeScript >= 5.6 writes the iterators of Map, Set and arrays as MapIterator/SetIterator/
// ArrayIterator, names TypeScript 5.4 and 5.5 do not have. A declaration file that uses one gets a
// local alias for it: the very same type on new TypeScript, IterableIterator on old. Appended at
// the end, so the declaration maps stay right.
const ITERATORS: Record<string, string> = {
  MapIterator: "ReturnType<Map<unknown, T>['values']>",
  SetIterator: "ReturnType<Set<T>['values']>",
  ArrayIterator: "ReturnType<T[]['values']>",
}
const portableIterators = {
  name: 'freshkey:portable-iterators',
  generateBundle: {
    order: 'post' as const,
    handler(_options: unknown, bundle: Record<string, { type: string; fileName: string; code?: string }>) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !/\.d\.c?ts$/.test(chunk.fileName) || !chunk.code) continue
        const used = Object.keys(ITERATORS).filter((name) => new RegExp(`\\b${name}<`).test(chunk.code!))
        if (used.length === 0) continue
        const aliases = used.map((name) => `type ${name}<T> = ${ITERATORS[name]};\n`).join('')
        const map = chunk.code.lastIndexOf('\n//# sourceMappingURL=')
        chunk.code =
          map < 0
            ? `${chunk.code}\n${aliases}`
            : `${chunk.code.slice(0, map)}\n${aliases}${chunk.code.slice(map + 1)}`
      }
    },
  },
}

/**
 * The one build every package spreads into its `tsdown.config.ts`: ESM (`.js`, `.d.ts`) and
 * CommonJS (`.cjs`, `.d.cts`) side by side in `dist/`, one output file per source file.
 */
export const base = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  platform: 'node',
  target: 'node22.12',
  // Mirrors src/ file by file: readable stack traces, and dist/<file>.js stays where tests look.
  unbundle: true,
  // The packages are "type": "module", so ESM keeps `.js` and CommonJS gets `.cjs`.
  fixedExtension: false,
  sourcemap: true,
  dts: true,
  report: false,
  failOnWarn: true,
  checks: { legacyCjs: false, pluginTimings: false },
  plugins: [portableIterators],
  // tsdown leaves `plugins` out of the pass that writes the .d.cts files.
  inputOptions: (options, _format, { cjsDts }) =>
    cjsDts ? { ...options, plugins: [options.plugins, portableIterators] } : options,
  // Jest's CommonJS runtime has no `import()`: optional peers load through `require` there.
  outputOptions: (options, format) =>
    format === 'cjs' ? { ...options, dynamicImportInCjs: false } : options,
} satisfies UserConfig
