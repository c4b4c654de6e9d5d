import { Presets, SingleBar } from 'cli-progress'

export type OutputFormat = 'table' | 'json'

/**
 * How operator commands talk: a table or a progress bar for people (`--format table`, the default), JSON
 * for machines (`--format json`). JSON field names are snake_case in every command's output, converted
 * here once, so each command builds its result in the code's own casing.
 */
export interface Output {
  format: OutputFormat
  result(value: object, text: () => string): void
  /** A bar on a terminal (cli-progress: sized to the terminal's width, redrawn in place); JSON lines otherwise. */
  progress(unit: string): Progress
}

export interface Progress {
  update(done: number, total: number, extra?: { ratePerSecond?: number }): void
  stop(): void
}

export function createOutput(format: OutputFormat, stream: NodeJS.WriteStream = process.stdout): Output {
  const json = format === 'json'
  return {
    format,
    result(value, text) {
      stream.write(json ? `${JSON.stringify(snakeCaseKeys(value))}\n` : `${text()}\n`)
    },
    progress(unit) {
      // Off a terminal (a Job, a pipe) a bar would be one line per redraw: progress is JSON lines there.
      if (json || stream.isTTY !== true) {
        return {
          update: (done, total, extra = {}) =>
            stream.write(`${JSON.stringify(snakeCaseKeys({ event: 'progress', done, total, ...roundedRate(extra) }))}\n`),
          stop: () => {},
        }
      }
      const bar = new SingleBar(
        { stream, format: `{bar} {percentage}% {value}/{total} ${unit}{rate}  ETA {eta}s`, hideCursor: true, etaBuffer: 20 },
        Presets.shades_classic,
      )
      let started = false
      return {
        update(done, total, extra = {}) {
          const rate = extra.ratePerSecond === undefined ? '' : `  ${Math.round(extra.ratePerSecond)}/s`
          if (!started) bar.start(total, done, { rate })
          else {
            bar.setTotal(total)
            bar.update(done, { rate })
          }
          started = true
        },
        stop: () => {
          if (started) bar.stop()
        },
      }
    },
  }
}

const roundedRate = ({ ratePerSecond }: { ratePerSecond?: number }) =>
  ratePerSecond === undefined ? {} : { ratePerSecond: Math.round(ratePerSecond) }

/** camelCase keys to snake_case, through arrays and plain objects; values are left alone. */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys)
  if (value === null || typeof value !== 'object' || value.constructor !== Object) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCaseKeys(inner)]),
  )
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((row) => row.map(String))]
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)))
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
