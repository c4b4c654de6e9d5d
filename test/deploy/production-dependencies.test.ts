import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import t from 'tap'

/**
 * The container image installs production dependencies only (npm ci --omit=dev). Every package the
 * service and its migrations import must therefore be a runtime dependency.
 */
const root = path.resolve(import.meta.dirname, '../..')
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  )
}

function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
}

t.test('src/ and db/ import only runtime dependencies and Node built-ins', async (t) => {
  const missing: string[] = []
  const files = [...sourceFiles(path.join(root, 'src')), ...sourceFiles(path.join(root, 'db'))]
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/^\s*import\s+(?!type\b)[^'"]*from\s+'([^'.][^']*)'/gm)) {
      const name = packageName(match[1]!)
      if (name.startsWith('node:') || builtinModules.includes(name)) continue
      if (!(name in pkg.dependencies)) missing.push(`${path.relative(root, file)}: ${name}`)
    }
  }
  t.ok(files.length > 20)
  t.same(missing, [])
})
