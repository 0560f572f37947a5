import { chmod, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ListenAddress } from './config/listen-address.ts'
import type { FuxiConfig } from './config/schema.ts'
import { createDockerEngine, type DockerEngine } from './docker/engine.ts'
import { createExec, type Exec } from './host/exec.ts'
import type { Host } from './host/host.ts'
import { hostIdentity } from './host/host-id.ts'
import { createLinuxHost } from './host/linux-host.ts'
import { createLocks } from './host/locks.ts'
import { acquirePidFile } from './host/pidfile.ts'
import type { Logger } from './log.ts'
import type { MetricsServer } from './metrics/http-server.ts'
import { startMetrics } from './metrics/start.ts'
import { createServer, type FastifyInstance, TIMEOUTS_MS } from './protocol/server.ts'
import { prepareSocketPath, restrictSocket } from './protocol/socket.ts'
import { PROVIDERS } from './providers/registry.ts'
import { inOperation, newRequestId, withRequestId } from './request-id.ts'
import { createJournal } from './volumes/journal.ts'
import { totalRefs } from './volumes/mount-refs.ts'
import type { VolumeProvider } from './volumes/provider.ts'
import { ProviderSet } from './volumes/provider-set.ts'
import { type ReconcileAction, reconcile, startPeriodicReconcile } from './volumes/reconciler.ts'
import { PHASE_KINDS } from './volumes/record.ts'
import type { FaultHook, VolumeDeps } from './volumes/volume-deps.ts'
import { VolumeService } from './volumes/volume-service.ts'
import { VolumeStore } from './volumes/volume-store.ts'

export interface AppOverrides {
  exec?: Exec
  host?: Host
  docker?: DockerEngine
  fault?: FaultHook
  /** Providers built by the caller (tests), instead of from the config. */
  providers?: (host: Host, hostId: string) => VolumeProvider[]
}

export interface App {
  readonly server: FastifyInstance
  /** This host's identity in the cloud ([DEFAULT] host_id, or made once). */
  readonly hostId: string
  readonly volumes: VolumeService
  /** The records behind the volumes (tests and tools look at them directly). */
  readonly store: VolumeStore
  readonly providers: ProviderSet
  reconcile(): Promise<ReconcileAction[]>
  /** Listen on the configured socket (and TCP, and metrics, when enabled). */
  listen(): Promise<void>
  /** Where /metrics is served once listening; undefined when metrics are off. */
  metricsAddress(): ListenAddress | undefined
  /** Stop accepting, finish in-flight requests; mounts stay (containers keep running). */
  close(): Promise<void>
}

/** Composition root: builds everything from the validated config. */
export async function createApp(
  config: FuxiConfig,
  log: Logger,
  o: AppOverrides = {},
): Promise<App> {
  const d = config.DEFAULT
  await mkdir(d.state_dir, { recursive: true, mode: 0o700 })
  // The data root (made 0700 when fuxi makes it) and its provider folders, which are fuxi's
  // alone: root only (containers reach volumes by bind mount).
  await mkdir(d.volume_dir, { recursive: true, mode: 0o700 })
  for (const dir of d.volume_providers.map((p) => join(d.volume_dir, p))) {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await chmod(dir, 0o700)
  }
  const locks = createLocks(join(d.state_dir, 'locks'), log)
  const releasePid = await acquirePidFile(join(d.state_dir, 'fuxi.pid'), (fn) =>
    locks.withLock('fuxi-daemon', fn),
  )
  const stale = await locks.clearStale()
  if (stale) log.info({ stale }, 'removed volume locks left by a previous daemon')
  const exec = o.exec ?? createExec()
  const host = o.host ?? createLinuxHost(exec)
  const hostId = await hostIdentity({ stateDir: d.state_dir, configured: d.host_id, log })
  const docker = o.docker ?? createDockerEngine(d.docker_socket)
  // Read at each scrape; `deps` is made below, before anything can scrape.
  const metrics = await startMetrics(d.metrics_listen, {
    providers: d.volume_providers,
    phases: PHASE_KINDS,
    volumes: () =>
      deps.store.all().map((r) => ({
        provider: r.provider,
        phase: r.phase.kind,
        refs: totalRefs(r.refs),
        mounted: r.device !== null,
      })),
  })

  // Building the providers is an operation of its own (one request id for what it calls).
  const providers: VolumeProvider[] =
    o.providers?.(host, hostId) ??
    (await inOperation(() =>
      Promise.all(
        d.volume_providers.map((name) =>
          PROVIDERS[name].build(config, {
            exec,
            host,
            hostId,
            log: log.child({ provider: name }),
            metrics: metrics.metrics,
          }),
        ),
      ),
    ))

  const deps: VolumeDeps = {
    store: new VolumeStore(
      createJournal(join(d.state_dir, 'volumes'), log),
      locks,
      metrics.metrics,
    ),
    providers: new ProviderSet(providers),
    bootId: await host.bootId(),
    hostId,
    volumeDir: d.volume_dir,
    log,
    fault: o.fault,
    metrics: metrics.metrics,
  }
  await deps.store.load()
  const volumes = new VolumeService(deps)
  const runReconcile = () =>
    inOperation(async () => {
      const inUse = await docker.volumesInUse()
      log.info({ op: 'reconcile', dockerApi: inUse ? 'reachable' : 'unreachable' }, 'reconciling')
      return reconcile(deps, log, { inUse })
    })
  const stopReconciles =
    d.reconcile_interval > 0
      ? startPeriodicReconcile(deps, log, {
          intervalMs: d.reconcile_interval * 1000,
          volumesInUse: () => docker.volumesInUse(),
        })
      : () => {}
  const routes = { volumes, reconcile: runReconcile }
  const server = createServer(routes, log, TIMEOUTS_MS, metrics.metrics)
  let tcp: FastifyInstance | undefined
  let metricsServer: MetricsServer | undefined
  // Heartbeats on the volumes this host holds, so other hosts can tell it is alive (takeover).
  const beating = providers.filter((p) => p.heartbeat)
  const heartbeats = beating.length
    ? setInterval(
        // One request id per round of heartbeats.
        () =>
          withRequestId(newRequestId(), () => {
            for (const p of beating)
              p.heartbeat?.().catch((err: unknown) =>
                log.warn({ err, provider: p.name }, 'heartbeat failed; the next one tries again'),
              )
          }),
        config.cinder.heartbeat_interval * 1000,
      ).unref()
    : undefined

  return {
    server,
    hostId,
    volumes,
    store: deps.store,
    providers: deps.providers,
    reconcile: runReconcile,
    async listen() {
      // First: a metrics port already taken fails the start before dockerd can see the plugin.
      metricsServer = await metrics.listen(log)
      await prepareSocketPath(d.socket_path)
      await server.listen({ path: d.socket_path })
      await restrictSocket(d.socket_path)
      if (d.tcp_listen) {
        if (!['127.0.0.1', '::1', 'localhost'].includes(d.tcp_host))
          log.warn(
            { host: d.tcp_host },
            'TCP listener is not on loopback: anyone who reaches it can delete volumes',
          )
        // A second Fastify instance on the same routes (one instance listens on one address).
        tcp = createServer(routes, log, TIMEOUTS_MS, metrics.metrics)
        await tcp.listen({ host: d.tcp_host, port: d.fuxi_port })
      }
    },
    metricsAddress: () => metricsServer?.address,
    async close() {
      clearInterval(heartbeats)
      stopReconciles()
      await Promise.all([server.close(), tcp?.close(), metricsServer?.close()])
      await releasePid()
    },
  }
}
