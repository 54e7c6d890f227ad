import { MAX_COOKIE_BYTES } from './codecs/codec.js'

// A session value too long for one cookie is written as several: `<name>`, `<name>.1`, …,
// `<name>.<n-1>`, each `name=value` within the browsers' 4096 bytes, all with the same attributes.
// The codec signs or encrypts the whole value and never sees the pieces: the request's pieces are
// joined back in order and verified as one, so a missing, extra, reordered, duplicated or foreign
// piece (another session's, an older write's) fails as a whole, never as a mix.
//
// The budget for the whole Cookie header: Node refuses a request whose headers exceed 16 KiB
// (its default --max-http-header-size), with a 431 the application never sees. A session may use
// at most 3 cookies: 3 × 4096 = 12288 bytes, leaving 4096 bytes for the request line, the other
// headers (a browser's are about 1–2 KB) and the site's other cookies. A fourth cookie could
// bring the session alone to 16384 bytes, the whole limit.

/** The most cookies one session may use (see the budget above). */
export const MAX_COOKIES = 3
/** Node's default limit on a request's headers (http.maxHeaderSize). */
export const NODE_HEADER_LIMIT = 16 * 1024

/** The name of piece `index` (0 is the plain cookie name). */
export function chunkName (name: string, index: number): string {
  return index === 0 ? name : `${name}.${index}`
}

export interface CarriedValue {
  /** The pieces joined, or undefined when the request carried no usable value. */
  value: string | undefined
  /** One more than the highest piece the request carried (0 for none): the pieces to delete when no longer used. */
  carried: number
  /**
   * Why the pieces make no value: one came after a missing one (or without the first), or one
   * is longer than a browser keeps (so not ours, refused before any crypto work).
   */
  problem?: 'malformed' | 'too-large'
}

/** The session value a request carries in up to `maxCookies` cookies (an empty cookie counts as absent). */
export function joinChunks (jar: Record<string, string | undefined>, name: string, maxCookies: number): CarriedValue {
  let value = ''
  let carried = 0
  let problem: CarriedValue['problem']
  for (let index = 0; index < maxCookies; index++) {
    const piece = jar[chunkName(name, index)]
    if (piece === undefined || piece === '') continue
    if (carried !== index) problem ??= 'malformed'
    // Browsers keep no value longer than this (4096 bytes of name=value); a longer one is not ours.
    if (piece.length > MAX_COOKIE_BYTES) problem ??= 'too-large'
    carried = index + 1
    value += piece
  }
  return problem === undefined && value !== '' ? { value, carried } : { value: undefined, carried, problem }
}

/**
 * `value` cut so that each `name=piece` fits one cookie, or undefined when that takes more than
 * `maxCookies` cookies. Values are ASCII (base64url and dots): characters are bytes.
 */
export function splitValue (name: string, value: string, maxCookies: number): string[] | undefined {
  const pieces: string[] = []
  let start = 0
  for (let index = 0; index < maxCookies && start < value.length; index++) {
    const room = MAX_COOKIE_BYTES - chunkName(name, index).length - 1
    pieces.push(value.slice(start, start + room))
    start += room
  }
  return start >= value.length ? pieces : undefined
}
