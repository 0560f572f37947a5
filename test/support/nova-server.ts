import { CinderClient } from '../../src/openstack/cinder.ts'
import type { Session } from '../../src/openstack/session.ts'
import { waitForStatus } from '../../src/openstack/wait.ts'

const WAIT = { timeoutMs: 90_000 }

/**
 * A server on the dev cloud's Nova (fake virt driver) to stand for "this instance" in the Nova
 * flow's tests: booted from a 1 GiB bootable volume, with no network. `remove` deletes the server
 * and its boot volume.
 */
export async function bootServer(session: Session, name: string) {
  const cinder = new CinderClient(session)
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, json?: unknown) => {
    const res = await session.request('compute', {
      method,
      path,
      json,
      headers: { 'OpenStack-API-Version': 'compute 2.89' },
      okStatuses: [404],
    })
    return res.status === 404 ? undefined : (res.json as Record<string, unknown>)
  }
  const boot = await cinder.createVolume({ name: `${name}-boot`, size: 1 })
  await cinder.waitForVolume(boot.id, ['available'], WAIT)
  await cinder.api.call({
    method: 'POST',
    path: `/volumes/${boot.id}/action`,
    json: { 'os-set_bootable': { bootable: true } },
  })
  const flavors = (await call('GET', '/flavors')) as { flavors: { id: string; name: string }[] }
  const flavor = flavors.flavors.find((f) => f.name === 'fuxi.fake')?.id
  const created = (await call('POST', '/servers', {
    server: {
      name,
      flavorRef: flavor,
      networks: 'none',
      block_device_mapping_v2: [
        { boot_index: 0, uuid: boot.id, source_type: 'volume', destination_type: 'volume' },
      ],
    },
  })) as { server: { id: string } }
  const id = created.server.id
  const server = () =>
    call('GET', `/servers/${id}`) as Promise<{ server: { status: string } } | undefined>
  await waitForStatus({
    what: `server ${id}`,
    poll: server,
    status: (s) => s.server.status,
    want: ['ACTIVE'],
    errorStates: ['ERROR'],
    ...WAIT,
  })
  return {
    id,
    call,
    async remove() {
      await call('DELETE', `/servers/${id}`)
      await waitForStatus({
        what: `server ${id}`,
        poll: server,
        status: (s) => s.server.status,
        want: [],
        errorStates: ['ERROR'],
        goneIsSuccess: true,
        ...WAIT,
      })
      await cinder.waitForVolume(boot.id, ['available'], WAIT)
      await cinder.deleteVolume(boot.id)
    },
  }
}
