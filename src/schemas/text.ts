import { z } from 'zod'

/**
 * Text that is stored in the clear. PostgreSQL refuses NUL in text and \u0000 in jsonb, so a NUL that got
 * past the schema became a 500 from the database; control characters have no business in names, types or
 * URLs either. Refused here, every such field is a 400 that names the field and stores nothing.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point
const NO_NUL = /^[^\u0000]*$/

/** A name, type or id: no control characters at all. */
export const clearText = (min: number, max: number) =>
  z.string().min(min).max(max).regex(NO_CONTROL_CHARACTERS, 'must not contain control characters')

/** Free text that providers separate with white space (a scope): anything but NUL. */
export const looseText = (max: number) => z.string().max(max).regex(NO_NUL, 'must not contain NUL')

/** A URL the vault may send secrets to: http(s) only, no control characters. */
export const clearUrl = (max: number) =>
  z
    .url({ protocol: /^https?$/ })
    .max(max)
    .regex(NO_CONTROL_CHARACTERS, 'must not contain control characters')
