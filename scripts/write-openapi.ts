// Regenerates openapi.yaml from the route schemas, and the client's types from it: `npm run openapi`.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateOpenApiDocument } from '../src/openapi-document.ts'
import { generateClientTypes } from './generate-client-types.ts'

const documentFile = fileURLToPath(new URL('../openapi.yaml', import.meta.url))
const typesFile = fileURLToPath(new URL('../src/client/schema.ts', import.meta.url))
const document = await generateOpenApiDocument()
writeFileSync(documentFile, document)
writeFileSync(typesFile, await generateClientTypes(document))
process.stdout.write(`wrote ${documentFile}\nwrote ${typesFile}\n`)
