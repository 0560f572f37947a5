// fuxi as a managed (v2) Docker plugin: builds the image from the Dockerfile, turns it into a
// plugin bundle (config.json + rootfs) and runs `docker plugin create`.
//
//   npm run plugin -- [--name fuxi] [--base IMAGE] [--image TAG] [--no-build] [--enable]
//
// The plugin is created disabled; `docker plugin set` changes its settings (see PLUGIN_SETTINGS in
// the README), `docker plugin enable fuxi` starts it. Run as root on the Docker host.
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/** Runs the docker CLI with these arguments (argv only) and returns its trimmed stdout. */
export type DockerCli = (args: string[]) => Promise<string>

const ROOT = resolve(new URL('..', import.meta.url).pathname)

/** Where fuxi mounts volumes inside the plugin: the default volume_dir, shared with the host. */
export const PROPAGATED_MOUNT = '/fuxi/data'

/**
 * The plugin's config.json (Docker's plugin config, version 1). Mount sources named here are the
 * host's; each marked settable can be changed with `docker plugin set fuxi <name>.source=PATH`.
 */
export function pluginConfig(
  version: string,
  /** Whether the host has /lib/modules (a kernel with everything built in may have none). */
  hostModules = existsSync('/lib/modules'),
): Record<string, unknown> {
  const bind = (
    name: string,
    source: string,
    destination: string,
    description: string,
    opts: { ro?: boolean; settable?: boolean } = {},
  ) => ({
    name,
    description,
    source,
    destination,
    type: 'bind',
    options: opts.ro ? ['rbind', 'ro'] : ['rbind'],
    ...(opts.settable ? { settable: ['source'] } : {}),
  })
  return {
    description: `fuxi ${version}: Docker volumes on OpenStack Cinder and Manila, or on local loop devices`,
    documentation: 'https://opendev.org/openstack/fuxi (see README: managed plugin)',
    entrypoint: ['/opt/fuxi/bin/fuxi-server'],
    workdir: '/',
    interface: { types: ['docker.volumedriver/1.0'], socket: 'fuxi.sock' },
    // Keystone, Cinder, Manila, iSCSI portals and NFS servers are reached as the host reaches them.
    network: { type: 'host' },
    // Mounts fuxi makes here appear on the host (under the plugin's propagated-mount folder), where
    // dockerd binds them into containers.
    propagatedMount: PROPAGATED_MOUNT,
    linux: {
      // mount, loop devices, mkfs; CAP_SYS_MODULE lets modprobe load iscsi_tcp, nfs, ceph.
      capabilities: ['CAP_SYS_ADMIN', 'CAP_SYS_MODULE'],
      // Loop devices and iSCSI/RBD disks appear after the plugin starts: every device, not a list.
      allowAllDevices: true,
    },
    mounts: [
      bind('config', '/etc/fuxi', '/etc/fuxi', 'fuxi.conf and the secrets it names', {
        ro: true,
        settable: true,
      }),
      bind('state', '/var/lib/fuxi', '/var/lib/fuxi', 'journal, locks, host id, local images', {
        settable: true,
      }),
      bind('dev', '/dev', '/dev', 'loop, iSCSI and RBD devices as the host sees them'),
      ...(hostModules
        ? [
            bind('modules', '/lib/modules', '/lib/modules', 'kernel modules for modprobe', {
              ro: true,
            }),
          ]
        : []),
      bind('docker', '/run/docker.sock', '/run/docker.sock', 'Docker Engine API (volumes in use)', {
        settable: true,
      }),
    ],
    env: [
      {
        name: 'FUXI_CONFIG_FILE',
        description: 'fuxi.conf inside the plugin (empty: /etc/fuxi/fuxi.conf if it exists)',
        settable: ['value'],
        value: '',
      },
      {
        name: 'OS_CLIENT_CONFIG_FILE',
        description:
          'a clouds.yaml inside the plugin, e.g. /etc/fuxi/clouds.yaml (empty: the usual places)',
        settable: ['value'],
        value: '',
      },
      {
        name: 'OS_CLOUD',
        description: 'the clouds.yaml entry for sections that name no cloud and no auth_url',
        settable: ['value'],
        value: '',
      },
      {
        name: 'FUXI_LOG_LEVEL',
        description: 'trace, debug, info, warn or error (empty: the config file decides)',
        settable: ['value'],
        value: '',
      },
    ],
  }
}

/** `docker build` of the Dockerfile (BASE: another base image with Node >= 20.19). */
export async function buildImage(
  docker: DockerCli,
  o: { tag: string; base?: string | undefined },
): Promise<void> {
  const args = ['build', '--network', 'host', '-t', o.tag]
  if (o.base) args.push('--build-arg', `BASE=${o.base}`)
  await docker([...args, ROOT])
}

/** A plugin bundle in `dir`: rootfs/ exported from a container of `image`, and config.json. */
export async function makeBundle(
  docker: DockerCli,
  o: { image: string; dir: string; config: Record<string, unknown> },
): Promise<void> {
  const rootfs = join(o.dir, 'rootfs')
  await mkdir(rootfs, { recursive: true })
  const id = await docker(['create', o.image])
  try {
    const tar = join(o.dir, 'rootfs.tar')
    await docker(['export', '-o', tar, id])
    await run('tar', ['-x', '-f', tar, '-C', rootfs])
    await rm(tar)
  } finally {
    await docker(['rm', id])
  }
  await writeFile(join(o.dir, 'config.json'), `${JSON.stringify(o.config, null, 2)}\n`)
}

/** Builds (unless `image` is given and `build` false), bundles and creates the plugin. */
export async function createPlugin(
  docker: DockerCli,
  o: {
    name: string
    image: string
    base?: string | undefined
    build: boolean
    version: string
    /** Changes to the config before `docker plugin create` (tests add stand-ins). */
    edit?: (config: Record<string, unknown>) => void
  },
): Promise<void> {
  if (o.build) await buildImage(docker, { tag: o.image, base: o.base })
  await mkdir('/var/lib/fuxi-plugin-build', { recursive: true })
  const dir = await mkdtemp('/var/lib/fuxi-plugin-build/bundle-')
  try {
    const config = pluginConfig(o.version)
    o.edit?.(config)
    await makeBundle(docker, { image: o.image, dir, config })
    await docker(['plugin', 'create', o.name, dir])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function run(cmd: string, args: string[], stream = false): Promise<string> {
  return new Promise((done, fail) => {
    if (stream) {
      const p = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] })
      p.on('error', fail)
      p.on('exit', (code) =>
        code === 0 ? done('') : fail(new Error(`${cmd} ${args[0]} failed (exit ${code})`)),
      )
      return
    }
    execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err
        ? fail(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`))
        : done(stdout.trim()),
    )
  })
}

async function main(argv: string[]): Promise<void> {
  const { version } = (await import('../package.json', { with: { type: 'json' } })).default
  const opt = { name: 'fuxi', image: `fuxi:${version}`, base: undefined as string | undefined }
  let build = true
  let enable = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (!v) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--name') opt.name = value()
    else if (a === '--image') opt.image = value()
    else if (a === '--base') opt.base = value()
    else if (a === '--no-build') build = false
    else if (a === '--enable') enable = true
    else
      throw new Error(
        `unknown argument ${a}\nusage: npm run plugin -- [--name fuxi] [--base IMAGE] [--image TAG] [--no-build] [--enable]`,
      )
  }
  // The host folders the plugin's mounts name must exist before it is enabled.
  await mkdir('/etc/fuxi', { recursive: true, mode: 0o700 })
  await mkdir('/var/lib/fuxi', { recursive: true, mode: 0o700 })
  const docker: DockerCli = (args) => run('docker', args, args[0] === 'build')
  console.log(`building plugin ${opt.name} from image ${opt.image}${build ? ' (building it)' : ''}`)
  await createPlugin(docker, { ...opt, build, version })
  if (enable) await docker(['plugin', 'enable', opt.name])
  console.log(
    `plugin ${opt.name} created${enable ? ' and enabled' : `; start it with: docker plugin enable ${opt.name}`}`,
  )
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname))
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`plugin: ${(e as Error).message}`)
    process.exit(1)
  })
