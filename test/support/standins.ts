/**
 * Test-only stand-ins for host tools this kernel or machine lacks (iscsiadm, rbd, mount.nfs,
 * mount.ceph): a test puts this directory first on PATH; nothing here is ever installed.
 */
export const STANDINS = new URL('../standins', import.meta.url).pathname
export const STANDIN_PATH = `${STANDINS}:${process.env.PATH}`
