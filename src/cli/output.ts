/** How operator commands talk: a table or a progress line on a terminal, JSON otherwise (or with --json). */
export interface Output {
  json: boolean
  tty: boolean
  result(value: unknown, text: () => string): void
  progress(event: Record<string, unknown>, line: () => string): void
  endProgress(): void
}

export function createOutput(json: boolean, stream: NodeJS.WriteStream = process.stdout): Output {
  const tty = stream.isTTY === true && !json
  let progressShown = false
  return {
    json,
    tty,
    result(value, text) {
      stream.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`)
    },
    progress(event, line) {
      if (tty) {
        stream.write(`\r\x1b[2K${line()}`)
        progressShown = true
      } else {
        stream.write(`${JSON.stringify({ event: 'progress', ...event })}\n`)
      }
    },
    endProgress() {
      if (progressShown) stream.write('\n')
      progressShown = false
    },
  }
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

export function bar(done: number, total: number, width = 30): string {
  const ratio = total === 0 ? 1 : Math.min(1, done / total)
  const filled = Math.round(ratio * width)
  return `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%`
}
