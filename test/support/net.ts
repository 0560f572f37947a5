import { readdir, readFile, readlink } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'

/** A TCP port nobody listens on right now (another process may take it before the test does). */
export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

/**
 * The TCP ports this process listens on, from the kernel's tables (/proc/net/tcp, tcp6) and this
 * process's open sockets: what a port scan of the host would find, whatever code opened them.
 */
export async function listeningPorts(pid: number | 'self' = 'self'): Promise<number[]> {
  const inodes = new Set<string>()
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
    const m = /^socket:\[(\d+)\]$/.exec(target)
    if (m) inodes.add(m[1] as string)
  }
  const ports = new Set<number>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // local_address is addr:port in hex; st 0A is LISTEN; the inode is the 10th field.
      if (f[3] === '0A' && inodes.has(f[9] ?? ''))
        ports.add(Number.parseInt((f[1] ?? '').split(':')[1] ?? '', 16))
    }
  }
  return [...ports].sort((a, b) => a - b)
}

/** A plain HTTP GET: status, content type and body. */
export function httpGet(
  url: string,
): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = ''
      res.on('data', (c) => {
        body += String(c)
      })
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type']),
          body,
        }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}
