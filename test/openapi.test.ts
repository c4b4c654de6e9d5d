import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { generateOpenApiDocument } from '../src/openapi-document.ts'

const committed = readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')

t.test('openapi.yaml is what the code generates (run `npm run openapi` after changing a route)', async (t) => {
  t.equal(committed, await generateOpenApiDocument())
})

t.test('every operation has an id and documents its error responses', async (t) => {
  const document = parse(committed)
  const operations = Object.values(document.paths).flatMap((item) => Object.values(item as Record<string, any>))
  t.ok(operations.length >= 8)
  for (const operation of operations) {
    t.ok(operation.operationId, `${operation.summary} has an operationId`)
    if (!['health', 'readiness', 'metrics'].includes(operation.operationId)) {
      t.ok(operation.responses['400'] && operation.responses['500'], `${operation.operationId} documents 400 and 500`)
    }
  }
})
