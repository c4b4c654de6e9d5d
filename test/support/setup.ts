// Runs once before the test files (npm test runs it before tap): builds the template every test database is
// cloned from, afresh (see test-template.ts).
import { buildTemplate } from './test-template.ts'

await buildTemplate()
