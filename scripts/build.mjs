// Bundles src/main.ts and its dependencies into ESM files: starts ~3x faster than node_modules.
import { readFile, rm } from 'node:fs/promises'
import { build } from 'esbuild'

// The version `fuxi --version` prints is package.json's at build time: the bundle reads no file.
const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
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
const versionDefine = { __FUXI_VERSION__: JSON.stringify(version) }
const production = {
  ...common,
  minifySyntax: true,
  define: { ...versionDefine, __FUXI_TEST_HOOKS__: 'false' },
}
// FUXI_BUILD_DIR: build elsewhere (a test checks a bundle without touching dist/).
const out = process.env.FUXI_BUILD_DIR ?? 'dist'
await rm(out, { recursive: true, force: true })
await Promise.all([
  // Split: what only some configurations load (the Cinder and Manila providers, the OpenStack
  // clients, axios) lives in dist/chunks/ and is neither parsed nor run at start unless enabled.
  build({
    ...production,
    entryPoints: { fuxi: 'src/main.ts', 'fuxi-cli': 'src/cli.ts' },
    outdir: out,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
  }),
  build({
    ...common,
    define: { ...versionDefine, __FUXI_TEST_HOOKS__: 'true' },
    entryPoints: ['src/main.ts'],
    outfile: `${out}/fuxi-testing.mjs`,
  }),
])
