import { readFileSync } from 'node:fs'

/** package.json's version, baked into the bundles by scripts/build.mjs; unset from source. */
declare const __FUXI_VERSION__: string | undefined

/** fuxi's version: the one built in, or (running from source) package.json's. */
export function fuxiVersion(): string {
  if (typeof __FUXI_VERSION__ === 'string') return __FUXI_VERSION__
  const pkg = readFileSync(new URL('../package.json', import.meta.url), 'utf8')
  return (JSON.parse(pkg) as { version: string }).version
}
