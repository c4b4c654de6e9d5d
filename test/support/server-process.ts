import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import path from 'node:path'
import type { Test } from 'tap'

const root = path.resolve(import.meta.dirname, '../..')

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams
  address: string
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string
}

/** Starts `node src/server.ts` as operators do and waits for the address it announces. */
export async function startServerProcess(t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['src/server.ts'], { cwd: root, env: { PATH: process.env.PATH!, PORT: '0', ...env } })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let output = ''
  child.stderr.on('data', (chunk) => (output += chunk))
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk
      const match = /secret-vault listening on (http:\/\/[^\s]+)/.exec(output)
      if (match) resolve(match[1]!)
    })
    child.on('exit', () => reject(new Error(`server exited early:\n${output}`)))
  })
  return { child, address, output: () => output }
}
