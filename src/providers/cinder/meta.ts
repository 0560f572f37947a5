import { DOCKER_NAME_KEY, OWNER_KEY } from '../cloud-names.ts'

/** Metadata keys fuxi keeps on a Cinder volume (the first two are the original fuxi's). */
export const META = {
  owner: OWNER_KEY,
  fstype: 'fstype',
  formatted: 'fuxi_formatted',
  dockerName: DOCKER_NAME_KEY,
} as const
