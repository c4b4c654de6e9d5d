import { z } from 'zod'
import { ERROR_CODES } from '../errors.ts'

export const errorResponseSchema = z.object({
  code: z.enum(ERROR_CODES).describe('Stable, machine-readable error code'),
  message: z.string().describe('Human-readable explanation; never contains secret material'),
  request_id: z.string(),
  issues: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .optional()
    .describe('For request.invalid: which inputs were wrong and why'),
})

export type ErrorResponse = z.infer<typeof errorResponseSchema>

/** Declares the error responses a route can give, for its schema and so for openapi.yaml. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorResponseSchema> {
  return Object.fromEntries([...statuses, 500].map((status) => [status, errorResponseSchema]))
}
