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
await Promise.all([
  build({ ...common, entryPoints: ['src/main.ts'], outfile: 'dist/fuxi.mjs' }),
  build({ ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/fuxi-cli.mjs' }),
])
