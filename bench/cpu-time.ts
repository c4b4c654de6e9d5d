// CPU time spent by processes on this machine, from /proc (Linux). On a machine whose cores are all busy
// during a run, CPU per request is a steadier comparison than requests per second, which also moves with
// how the scheduler shares the cores between the server, the database and the load generator.
import { readdirSync, readFileSync } from 'node:fs'

// USER_HZ: the unit of utime and stime in /proc/<pid>/stat; 100 on every mainstream Linux build.
const TICKS_PER_SECOND = 100

/** utime + stime of one process in seconds, undefined when it is gone or /proc is not there. */
function processCpuSeconds(pid: number | string): { comm: string; seconds: number } | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name is in parentheses and may itself hold spaces or parentheses.
  const close = stat.lastIndexOf(')')
  const comm = stat.slice(stat.indexOf('(') + 1, close)
  const fields = stat.slice(close + 2).split(' ')
  // Fields 14 and 15 of the line (utime, stime) are at 11 and 12 after the command name.
  return { comm, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND }
}

export function cpuSecondsOf(pid: number): number | undefined {
  return processCpuSeconds(pid)?.seconds
}

/** CPU seconds of each PostgreSQL server process now (the database server the benchmark uses, if local). */
export function postgresCpuSnapshot(): Map<string, number> | undefined {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return undefined
  }
  const snapshot = new Map<string, number>()
  for (const pid of pids) {
    const usage = processCpuSeconds(pid)
    if (usage?.comm === 'postgres') snapshot.set(pid, usage.seconds)
  }
  return snapshot
}

/**
 * CPU the PostgreSQL processes spent between two snapshots. Processes come and go (autovacuum workers):
 * one that started in between counts in full, one that ended in between is lost, so this is a lower bound.
 */
export function postgresCpuSecondsBetween(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0)
  return total
}
