import type { UserConfig } from 'tsdown'

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
  // Jest's CommonJS runtime has no `import()`: optional peers load through `require` there.
  outputOptions: (options, format) =>
    format === 'cjs' ? { ...options, dynamicImportInCjs: false } : options,
} satisfies UserConfig
