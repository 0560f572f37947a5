import { isIP } from 'node:net'

/** Where a listener binds: an IP literal (IPv6 in brackets) or `localhost`, and a port. */
export interface ListenAddress {
  readonly host: string
  readonly port: number
}

export type ParsedListen = { ok: true; value: ListenAddress } | { ok: false; problem: string }

const EXAMPLE = 'use host:port with an IP address, e.g. 127.0.0.1:9464 or [::1]:9464'

/**
 * `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`. Host names other than localhost are
 * refused: what a name resolves to can change, and a listener must bind one known address.
 */
export function parseListenAddress(text: string): ParsedListen {
  const m = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim())
  if (!m) return { ok: false, problem: `"${text}" is not host:port: ${EXAMPLE}` }
  const host = m[1] as string
  const port = Number(m[2])
  const bare = host.replace(/^\[|\]$/g, '')
  const family = isIP(bare)
  if (host !== 'localhost' && !family)
    return { ok: false, problem: `"${host}" is not an IP address: ${EXAMPLE}` }
  if (family === 6 && !host.startsWith('['))
    return { ok: false, problem: `write an IPv6 address in brackets: [${bare}]:${port}` }
  if (port < 1 || port > 65535)
    return { ok: false, problem: `port ${port} is out of range: use 1..65535` }
  return { ok: true, value: { host, port } }
}

/** True for addresses only this host can reach. */
export function isLoopback(a: ListenAddress): boolean {
  const bare = a.host.replace(/^\[|\]$/g, '')
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'))
}

export function formatListenAddress(a: ListenAddress): string {
  return `${a.host}:${a.port}`
}
