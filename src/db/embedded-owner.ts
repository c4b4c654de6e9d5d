import fs, { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import path from 'node:path'
import lockfile from 'proper-lockfile'
import { ConfigError } from '../config.ts'

/**
 * The embedded database belongs to one process at a time. PGlite keeps its pages in memory and writes them
 * back on its own schedule, so a second process on the same directory (the CLI beside a running server)
 * would work on a copy that one of the two later overwrites: a shredded tenant would come back. The owner
 * holds a lock directory beside the data and keeps touching it; a lock whose owner died goes stale after
 * STALE_MS and is taken over (proper-lockfile's mtime protocol, which works across hosts sharing a volume).
 * STALE_MS is long because an owner whose event loop is busy (PGlite's start-up is synchronous work) touches
 * the lock late, and a lock taken over from a live owner is the very failure this prevents. The lock also
 * names its owner's host and process, so that on the same host a lock left by a process that no longer
 * exists (killed, crashed) is taken over at once.
 */
const STALE_MS = 60_000

interface OwnerRecord {
  host: string
  pid: number
}

function ownerFile(lockPath: string): string {
  return path.join(lockPath, 'owner.json')
}

/** True only when the lock's owner is known to be gone: a process of this host that no longer runs. */
function ownerIsGone(lockPath: string): boolean {
  let owner: OwnerRecord
  try {
    owner = JSON.parse(readFileSync(ownerFile(lockPath), 'utf8')) as OwnerRecord
  } catch {
    return false
  }
  if (owner.host !== hostname() || !Number.isInteger(owner.pid) || owner.pid === process.pid) return false
  try {
    process.kill(owner.pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

export interface EmbeddedOwnership {
  release(): Promise<void>
}

export async function takeEmbeddedOwnership(dataDir: string): Promise<EmbeddedOwnership> {
  mkdirSync(dataDir, { recursive: true })
  const lockPath = path.join(dataDir, '..', `${path.basename(dataDir)}.owner.lock`)
  const lock = () =>
    lockfile.lock(dataDir, {
      lockfilePath: lockPath,
      realpath: false,
      // The lock directory holds the owner record, so removing it must take the record along.
      fs: {
        ...fs,
        rmdir: (target: string, done: (error: NodeJS.ErrnoException | null) => void) =>
          fs.rm(target, { recursive: true, force: true }, done),
        rmdirSync: (target: string) => fs.rmSync(target, { recursive: true, force: true }),
      },
      stale: STALE_MS,
      retries: 0,
      // Someone removed or took the lock while this process worked: another process may now be writing the
      // same files. Stopping is the only safe answer.
      onCompromised: () => {
        process.stderr.write(`secret-vault: lost ownership of the embedded database in ${dataDir}; stopping\n`)
        process.exit(1)
      },
    })
  let release: () => Promise<void>
  try {
    release = await lock().catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED' || !ownerIsGone(lockPath)) throw error
      rmSync(lockPath, { recursive: true, force: true })
      return lock()
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error
    throw new ConfigError(
      `the embedded database in ${dataDir} is in use by another process (a running server?). ` +
        'Stop it first and run this again, or run the service and the CLI against a PostgreSQL server (DATABASE_URL), ' +
        'where both may run at once',
    )
  }
  writeFileSync(ownerFile(lockPath), JSON.stringify({ host: hostname(), pid: process.pid } satisfies OwnerRecord))
  return { release }
}
