// Bundles src/main.ts and its dependencies into one ESM file: starts ~3x faster than node_modules.
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
await Promise.all([
  build({ ...production, entryPoints: ['src/main.ts'], outfile: 'dist/fuxi.mjs' }),
  build({ ...production, entryPoints: ['src/cli.ts'], outfile: 'dist/fuxi-cli.mjs' }),
  build({
    ...common,
    define: { __FUXI_TEST_HOOKS__: 'true' },
    entryPoints: ['src/main.ts'],
    outfile: 'dist/fuxi-testing.mjs',
  }),
])
