import { getHeapStatistics } from 'node:v8'
import { BUDGET_MS, withDeadline } from '../deadline.ts'
import { VolumeNotFoundError } from '../errors.ts'
import type { ReconcileAction } from '../volumes/reconciler.ts'
import type { VolumeService } from '../volumes/volume-service.ts'
import { asObject, parseOpts } from './messages.ts'

export interface Routes {
  readonly volumes: VolumeService
  /** Runs the reconciler on demand (admin endpoint `/Fuxi.Reconcile`). */
  readonly reconcile: () => Promise<ReconcileAction[]>
}

/** One POST endpoint: the request's parsed JSON body in, the answer out; throws become `{Err}`. */
export type Endpoint = (body: unknown) => Promise<object>

/**
 * Every VolumeDriver endpoint, plus fuxi's admin endpoints (never called by dockerd), by path.
 * server.ts serves them; they know nothing of HTTP.
 */
export function endpoints({ volumes, reconcile }: Routes): ReadonlyMap<string, Endpoint> {
  const table = new Map<string, Endpoint>()
  // Each of dockerd's calls runs within the budget its timeout for it leaves (see deadline.ts);
  // fuxi's admin calls (a whole reconcile) are not dockerd's and have none.
  const post = (
    path: string,
    handler: (body: Record<string, unknown>) => Promise<object> | object,
  ) =>
    table.set(path, async (raw) => {
      const body = asObject(raw === undefined ? {} : raw)
      if (!path.startsWith('/VolumeDriver.')) return handler(body)
      const op = path.slice('/VolumeDriver.'.length)
      const budget =
        op === 'Create' ? BUDGET_MS.create : op === 'Mount' ? BUDGET_MS.mount : BUDGET_MS.other
      const what = typeof body.Name === 'string' ? `${op} of ${body.Name}` : op
      return withDeadline(budget, what, async () => handler(body))
    })

  post('/Plugin.Activate', () => ({ Implements: ['VolumeDriver'] }))

  post('/VolumeDriver.Capabilities', () => ({ Capabilities: { Scope: volumes.scope } }))

  post('/VolumeDriver.Create', async (b) => {
    await volumes.create(b.Name, parseOpts(b.Opts))
    return { Err: '' }
  })

  post('/VolumeDriver.Remove', async (b) => {
    await volumes.remove(b.Name)
    return { Err: '' }
  })

  post('/VolumeDriver.Mount', async (b) => ({
    Mountpoint: await volumes.mount(b.Name, b.ID),
    Err: '',
  }))

  post('/VolumeDriver.Unmount', async (b) => {
    await volumes.unmount(b.Name, b.ID)
    return { Err: '' }
  })

  post('/VolumeDriver.Path', async (b) => {
    const v = await volumes.lookup(b.Name)
    if (!v) throw new VolumeNotFoundError(String(b.Name))
    return { Mountpoint: v.mountpoint, Err: '' }
  })

  post('/VolumeDriver.Get', async (b) => {
    const v = await volumes.lookup(b.Name)
    if (!v) throw new VolumeNotFoundError(String(b.Name))
    return {
      Volume: { Name: v.name, Mountpoint: v.mountpoint, CreatedAt: v.createdAt, Status: v.status },
      Err: '',
    }
  })

  post('/VolumeDriver.List', async () => ({
    Volumes: (await volumes.listAll()).map((v) => ({
      Name: v.name,
      Mountpoint: v.mountpoint,
      CreatedAt: v.createdAt,
    })),
    Err: '',
  }))

  // `fuxi ls`: every volume with its Status in one answer. dockerd's List leaves Status out (it
  // is built per volume, and dockerd does not show it).
  post('/Fuxi.List', async () => ({
    Volumes: (await volumes.listAll()).map((v) => ({
      Name: v.name,
      Mountpoint: v.mountpoint,
      CreatedAt: v.createdAt,
      Status: v.status,
    })),
    Err: '',
  }))

  post('/Fuxi.Resize', async (b) => ({ Size: await volumes.resize(b.Name, b.Size), Err: '' }))

  post('/Fuxi.Reconcile', async () => ({ Actions: await reconcile(), Err: '' }))

  post('/Fuxi.Stats', () => {
    const m = process.memoryUsage()
    const mb = (x: number) => Math.round((x / 1048576) * 10) / 10
    return {
      UptimeS: Math.round(process.uptime()),
      Volumes: volumes.list().length,
      MemoryMB: {
        rss: mb(m.rss),
        heapUsed: mb(m.heapUsed),
        heapTotal: mb(m.heapTotal),
        heapLimit: mb(getHeapStatistics().heap_size_limit),
        external: mb(m.external),
      },
      Err: '',
    }
  })
  return table
}
