import type { VolumeConnector } from '../../connectors/connector.ts'
import type { Host } from '../../host/host.ts'
import type { Logger } from '../../log.ts'
import type { CinderClient, CinderVolume, ConnectionInfo } from '../../openstack/cinder.ts'
import type { OpContext } from '../../volumes/provider.ts'
import type { AttachPolicy, Holder, Mode } from './attach-state.ts'
import type { AttachmentRecord, attachmentRecords } from './attachment-records.ts'

/** The Cinder calls the provider makes: the real client, or a fake in unit tests. */
export type CinderApi = Pick<
  CinderClient,
  | 'createVolume'
  | 'getVolume'
  | 'listVolumes'
  | 'deleteVolume'
  | 'waitForVolume'
  | 'createAttachment'
  | 'getAttachment'
  | 'listAttachments'
  | 'completeAttachment'
  | 'deleteAttachment'
  | 'metadata'
>

/** What an attach flow gets from the provider. */
export interface FlowDeps {
  readonly api: CinderApi
  readonly host: Host
  readonly connectors: readonly VolumeConnector[]
  readonly log: Logger
  readonly records: ReturnType<typeof attachmentRecords>
  /** This host's id (attachments API), or this instance's server id (Nova). */
  readonly me: string
}

/**
 * How volumes reach this host: through Cinder's attachments API with this host's connector, or
 * through Nova (inside an instance). The provider decides (attach-state.ts); a flow does.
 */
export interface AttachFlow {
  /** A new attachment for this host in `mode`, its holder key written; rolled back on failure. */
  attach(
    name: string,
    v: CinderVolume,
    mode: Mode,
    ctx: OpContext,
    policy: AttachPolicy,
  ): Promise<{ record: AttachmentRecord; metadata: Readonly<Record<string, string>> }>
  /** Records this host's existing attachment (its local record was lost); undefined: it is gone. */
  reuse(
    name: string,
    v: CinderVolume,
    attachmentId: string,
    mode: Mode,
  ): Promise<AttachmentRecord | undefined>
  /** Deletes the attachments of holders that are gone; the volume afterwards. */
  takeOver(v: CinderVolume, from: readonly Holder[], log: Logger): Promise<CinderVolume | undefined>
  /** The device of this host's attachment, once it exists. */
  connect(r: AttachmentRecord, log: Logger): Promise<string>
  /** Tells Cinder the attachment is done (the volume goes in-use; others may attach again). */
  complete(r: AttachmentRecord): Promise<void>
  /**
   * Deletes attachments of the volume that are pending and that no host claims (no holder key)
   * after a grace: what a create whose answer was lost left behind. Returns how many.
   */
  takeBackOrphans?(volumeId: string, log: Logger): Promise<number>
  /** Disconnects and deletes one of this host's attachments and its key; already gone is fine. */
  detach(
    volumeId: string,
    attachmentId: string,
    info: ConnectionInfo | undefined,
    log: Logger,
  ): Promise<void>
}
