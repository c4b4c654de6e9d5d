// Regenerates openapi.yaml from the route schemas: `npm run openapi`.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateOpenApiDocument } from '../src/openapi-document.ts'

const file = fileURLToPath(new URL('../openapi.yaml', import.meta.url))
writeFileSync(file, await generateOpenApiDocument())
process.stdout.write(`wrote ${file}\n`)
