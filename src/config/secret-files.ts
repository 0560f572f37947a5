import { keystoneSections } from '../providers/registry.ts'
import type { FuxiConfig } from './schema.ts'

/** fuxi.conf and the files the enabled providers' credentials come from: all may hold secrets. */
export function secretFiles(file: string | undefined, config: FuxiConfig): string[] {
  const files = file ? [file] : []
  for (const s of keystoneSections(config)) {
    const c = config.credentials[s]
    if (!('problems' in c)) files.push(...c.files)
  }
  return [...new Set(files)]
}

/**
 * Why a file that holds secrets can be read by others than root, and the fix; undefined when
 * only root can (owned by root, no group or other permissions).
 */
export function exposure(
  file: string,
  m: { mode: number; uid: number },
): { problem: string; fix: string } | undefined {
  if (m.mode & 0o077)
    return {
      problem: `${file} is mode ${m.mode.toString(8).padStart(4, '0')}: others may read its passwords`,
      fix: `chmod 600 ${file}`,
    }
  if (m.uid !== 0)
    return {
      problem: `${file} is owned by uid ${m.uid}, who may read its passwords`,
      fix: `chown root ${file}`,
    }
  return undefined
}
