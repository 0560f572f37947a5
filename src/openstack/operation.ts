/** API version segments: v3, v2.1. */
const VERSION = /^v\d+(\.\d+)?$/
/**
 * A word of an API path (volumes, os-volume_attachments, export_locations). Ids never pass: a
 * UUID or a hex project id without a single digit does not happen in practice.
 */
const WORD = /^[A-Za-z][A-Za-z_.-]{0,39}$/

/**
 * A call's method and path with every id replaced, for metric labels (a label value per volume
 * would grow without end): `POST /v3/{id}/volumes/{id}/action`. The host and query are dropped;
 * metadata keys (`fuxi_host_<hostname>`) become `{key}`.
 */
export function operationOf(method: string, url: string): string {
  let path: string
  try {
    path = new URL(url).pathname
  } catch {
    path = url.split('?')[0] ?? ''
  }
  const out: string[] = []
  let previous = ''
  for (const raw of path.split('/')) {
    if (!raw) continue
    const segment = decode(raw)
    out.push(
      previous === 'metadata'
        ? '{key}'
        : VERSION.test(segment) || WORD.test(segment)
          ? segment
          : '{id}',
    )
    previous = segment
  }
  return `${method} /${out.join('/')}`
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
