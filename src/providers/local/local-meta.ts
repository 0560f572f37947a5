import { mountFlagOptions } from '../../volumes/filesystem.ts'
import { layoutOptions } from '../../volumes/layout.ts'
import type { BackendVolume } from '../../volumes/provider.ts'

/** What the provider keeps beside each image, like Cinder's volume metadata. */
export interface LocalMeta {
  createdAt: string
  size: string
  fstype: string
  /** Set once fuxi formatted the image (or adopted a filesystem on it); never format again. */
  formatted: boolean
  /** The create that made it (its marker): what a failed create may undo. */
  createdBy?: string
  /** Mount flags it opted back into (suid, dev), comma-separated. */
  mountFlags?: string
  /** The folder handed to Docker (layout.ts encodeLayout); none: the root (made before). */
  layout?: string
  /** `-o mount_options`, checked (mount-options.ts). */
  mountOptions?: string
  /** The image grew while the filesystem was not mounted: grow it at the next mount. */
  growPending?: boolean
}

/** A volume as the volume service sees it, from its metadata. */
export const toBackend = (name: string, m: LocalMeta): BackendVolume => ({
  name,
  createdAt: m.createdAt,
  options: {
    size: m.size,
    fstype: m.fstype,
    ...mountFlagOptions(m.mountFlags),
    ...(m.mountOptions ? { mount_options: m.mountOptions } : {}),
    ...layoutOptions(m.layout),
  },
})
