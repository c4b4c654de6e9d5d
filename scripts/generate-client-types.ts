import openapiTS, { astToString } from 'openapi-typescript'

/** The client's types, generated from openapi.yaml by openapi-typescript (a dev-time tool, not shipped). */
export async function generateClientTypes(document: string): Promise<string> {
  const header = '// Generated from openapi.yaml by `npm run openapi` (openapi-typescript). Do not edit.\n\n'
  return header + astToString(await openapiTS(document, { exportType: false, alphabetize: false }))
}
