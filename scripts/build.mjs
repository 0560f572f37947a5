// Bundles src/main.ts and its dependencies into ESM files: starts ~3x faster than node_modules.
import { rm } from 'node:fs/promises'
import { build } from 'esbuild'

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'none',
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __fuxiCreateRequire } from 'node:module'; const require = __fuxiCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
}
// The production bundle has no test hooks (crash points): __FUXI_TEST_HOOKS__ is false and the
// code behind it is dropped. dist/fuxi-testing.mjs keeps them, for the crash tests only.
const production = { ...common, minifySyntax: true, define: { __FUXI_TEST_HOOKS__: 'false' } }
await rm('dist', { recursive: true, force: true })
await Promise.all([
  // Split: what only some configurations load (the Cinder and Manila providers, the OpenStack
  // clients, axios) lives in dist/chunks/ and is neither parsed nor run at start unless enabled.
  build({
    ...production,
    entryPoints: { fuxi: 'src/main.ts', 'fuxi-cli': 'src/cli.ts' },
    outdir: 'dist',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
  }),
  build({
    ...common,
    define: { __FUXI_TEST_HOOKS__: 'true' },
    entryPoints: ['src/main.ts'],
    outfile: 'dist/fuxi-testing.mjs',
  }),
])
