import { OpenStackHttpError, VolumeStateError } from '../../errors.ts'
import type { Logger } from '../../log.ts'
import type { AccessRule, ManilaClient, ManilaShare } from '../../openstack/manila.ts'
import {
  type AccessSpec,
  accessFor,
  CREATED_KEY,
  findAccess,
  hostKey,
  releaseOf,
} from './access.ts'
import type { ShareProto } from './options.ts'

/** Mount waits this long for an access rule to become active. */
export const ACCESS_WAIT_MS = 30_000
/** Unmount waits this long for a denied rule to go; a slower deny finishes in Manila. */
export const DENY_WAIT_MS = 20_000

export type AccessApi = Pick<
  ManilaClient,
  | 'allowAccess'
  | 'denyAccess'
  | 'listAccessRules'
  | 'waitForAccessRule'
  | 'setAccessMetadata'
  | 'deleteAccessMetadata'
>

/**
 * This host's access to shares: one rule per host address (NFS) or cephx id (CephFS), found or
 * made, with the hosts that use it recorded in the rule's metadata; denied by the last of them,
 * and only if fuxi made it.
 */
export function accessRules(
  api: AccessApi,
  o: {
    /** This host in rule metadata. */
    me: string
    accessTo: string
    cephxId: string
    /** Keep this host's rule after the last Unmount. */
    keepAccess: boolean
  },
) {
  const { me } = o
  const want = (s: ManilaShare): AccessSpec =>
    accessFor(s.share_proto.toUpperCase() as ShareProto, o)

  return {
    want,
    /** This host's active rule on a share: found or made, with this host recorded on it. */
    async grant(share: ManilaShare, rules: readonly AccessRule[], log: Logger) {
      const spec = want(share)
      if (!spec.to)
        throw new VolumeStateError(
          spec.type === 'ip'
            ? 'this host has no address for Manila access rules: set [DEFAULT] my_ip (or [manila] access_to)'
            : 'no cephx id for CephFS access: set [manila] cephx_id',
        )
      let rule = findAccess(rules, spec, me)
      let created = false
      if (!rule) {
        log.info(
          { share: share.id, access: `${spec.type}:${spec.to}` },
          'granting this host access',
        )
        try {
          rule = await api.allowAccess(share.id, {
            access_type: spec.type,
            access_to: spec.to,
            metadata: { [CREATED_KEY]: 'true', [hostKey(me)]: 'true' },
          })
          created = true
        } catch (e) {
          // Someone granted it since we looked (Manila refuses a duplicate): use theirs.
          if (!(e instanceof OpenStackHttpError && e.status === 400)) throw e
          rule = findAccess(await api.listAccessRules(share.id), spec, me)
          if (!rule) throw e
        }
      }
      if (rule.state === 'error') {
        const mine = rule.metadata?.[CREATED_KEY] === 'true'
        if (mine) await api.denyAccess(share.id, rule.id)
        throw new VolumeStateError(
          `access rule ${rule.id} (${rule.access_type}:${rule.access_to}) of Manila share ${share.id} is in error: the share's back end did not apply it; ${mine ? 'fuxi denied it, retry' : `deny it (manila access-deny ${share.id} ${rule.id}) and retry`}`,
        )
      }
      if (rule.access_level !== 'rw')
        throw new VolumeStateError(
          `Manila share ${share.id} gives ${spec.type}:${rule.access_to} ${rule.access_level} access only; fuxi mounts read-write: change or delete that rule`,
        )
      const joined = !created && rule.metadata?.[hostKey(me)] === undefined
      if (joined) await api.setAccessMetadata(rule.id, { [hostKey(me)]: 'true' })
      if (rule.state !== 'active')
        rule =
          (await api.waitForAccessRule(share.id, rule.id, ['active'], {
            timeoutMs: ACCESS_WAIT_MS,
          })) ?? rule
      return { rule, created, joined }
    },

    /** Leaves this host's rule: denied if fuxi made it and nobody else uses it, else unrecorded. */
    async ungrant(
      share: ManilaShare,
      rules: readonly AccessRule[],
      log: Logger,
      keep = o.keepAccess,
    ) {
      const rule = rules.find((r) => r.metadata?.[hostKey(me)] !== undefined)
      if (!rule) return
      const release = releaseOf(rule, me, keep)
      if (release.kind === 'LEAVE') {
        log.info({ share: share.id, rule: rule.id, why: release.why }, 'keeping the access rule')
        if (release.why !== 'keep_access') await api.deleteAccessMetadata(rule.id, hostKey(me))
        return
      }
      log.info({ share: share.id, rule: rule.id }, 'denying this host access')
      await api.denyAccess(share.id, rule.id)
      await api
        .waitForAccessRule(share.id, rule.id, [], { timeoutMs: DENY_WAIT_MS, goneIsSuccess: true })
        .catch((err: unknown) =>
          log.warn(
            { err, rule: rule.id },
            'the access rule is still being denied; Manila finishes it',
          ),
        )
    },

    /** Takes back this host's mark on a rule another host made (a mount that came to nothing). */
    leave: (rule: AccessRule) => api.deleteAccessMetadata(rule.id, hostKey(me)),
  }
}
