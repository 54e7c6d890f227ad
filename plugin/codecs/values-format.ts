// What a session may hold, and its canonical text form: the one definition both entry points use
// (values.ts binds it to Node's Buffer and errors, web/platform.ts to Uint8Array). Platform-neutral:
// no Buffer, no node: import; what differs between platforms is handed in as a ValuePlatform.
//
// Storable: null, booleans, finite numbers, strings (any UTF-16, lone surrogates included:
// JSON escapes them, so they round-trip exactly), arrays, plain objects, Date and
// Buffer/Uint8Array (read back as the platform's bytes: Buffer in Node, Uint8Array on the Web).
// `undefined` object properties are skipped, as JSON does. Anything else throws the platform's
// "unstorable" error (FST_SESSION_UNSTORABLE_VALUE) naming the path of the bad value.
//
// Dates and bytes are written as one-key "tag" objects, like Flask's tagged JSON:
// `{" d": "<ISO date>"}` and `{" b": "<base64url>"}`. A user object that happens to have exactly
// one key that is a tag name is wrapped as `{" o": {...}}` so it can never be mistaken for a tag.

export type SessionRecord = Record<string, unknown>

/** How bytes are spelled in text: base64url without padding (our tags), or padded base64 (Flask's). */
export type BytesAlphabet = 'base64url' | 'base64'

/** What reading and writing values needs from the platform: its bytes type and its error. */
export interface ValuePlatform {
  /** The error for a value that can never be stored (code FST_SESSION_UNSTORABLE_VALUE). */
  unstorable (message: string): Error
  /** `bytes` spelled in `alphabet` (base64 with its padding). */
  encodeBytes (bytes: Uint8Array, alphabet: BytesAlphabet): string
  /**
   * The bytes `text` spells, as the platform's bytes type. The caller has checked the alphabet;
   * unused trailing bits (and a lone trailing base64url character) are ignored, as Buffer does.
   */
  decodeBytes (text: string, alphabet: BytesAlphabet): Uint8Array
}

const DATE_TAG = ' d'
const BYTES_TAG = ' b'
const ESCAPE_TAG = ' o'
const MAX_DEPTH = 64
/** JSON.parse makes `__proto__` an ordinary own key; copying such a key with `=` would set a prototype. */
export const PROTO = '__proto__'

function isTagName (key: string): boolean {
  return key === DATE_TAG || key === BYTES_TAG || key === ESCAPE_TAG
}

function fail (platform: ValuePlatform, path: string, what: string): never {
  throw platform.unstorable(`${path} is ${what}`)
}

function describe (value: object): string {
  const name = (value.constructor as { name?: string } | undefined)?.name
  return name ? `a ${name} instance (only plain objects, arrays, Date and Buffer can be stored)` : 'an unsupported object'
}

/** Whether `value` is a plain object (prototype Object.prototype or null): not an array, Date, bytes or class instance. */
export function isPlainObject (value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The canonical text of `data`, just parsed from `text` that passed a MAC or an AEAD tag. A text
 * this plugin signed is serialize's output already, and it parses back to itself, so it is kept
 * as it is (one serialisation fewer per cold read) provided it could be saved again: no number
 * JSON.parse turned into Infinity, no nesting as deep as MAX_DEPTH. That is checked on the parsed
 * data (a walk over its values, cheaper than a pattern over the text); anything else is
 * serialised, which refuses what cannot be stored. A key holder's non-canonical spelling (`1.0`,
 * spaces) costs only a re-issue in canonical text when the handler changes or touches an object.
 */
export function canonicalText (text: string, data: SessionRecord, platform: ValuePlatform): string {
  return savable(data, 0) ? text : serialize(data, platform)
}

/** Whether serialize() takes a value parse() returned: finite numbers, objects nested less than MAX_DEPTH. */
function savable (value: unknown, depth: number): boolean {
  if (typeof value === 'number') return Number.isFinite(value)
  if (typeof value !== 'object' || value === null) return true
  if (depth >= MAX_DEPTH) return false
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!savable(value[i], depth + 1)) return false
    return true
  }
  if (value instanceof Date || value instanceof Uint8Array) return true // revived tags: serialize writes them
  for (const key in value) if (!savable((value as SessionRecord)[key], depth + 1)) return false
  return true
}

/**
 * The canonical JSON text of a value, with Date and bytes tagged. Throws on anything that cannot
 * be stored. Used both to write cookies and, by comparing texts, to detect changes by value.
 */
export function serialize (value: unknown, platform: ValuePlatform): string {
  // Most sessions are plain JSON: check that without allocating, then let V8's native
  // JSON.stringify write it (3-4x faster than write()). Dates, bytes, tag look-alikes and
  // everything that must fail take write(), which produces the same text or the error.
  return isPlainJson(value, 0) ? JSON.stringify(value) : write(value, 'session', 0, [], platform)
}

/** True when JSON.stringify(value) is exactly what write() would produce. */
function isPlainJson (value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object':
      break
    default:
      return false
  }
  if (value === null) return true
  if (depth >= MAX_DEPTH) return false // also ends circular structures; write() names them
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (item === undefined || !isPlainJson(item, depth + 1)) return false
    }
    return true
  }
  if (!isPlainObject(value)) return false
  let count = 0
  let onlyKey = ''
  for (const key in value) {
    if (!Object.hasOwn(value, key) || key === PROTO) return false
    const item = (value as SessionRecord)[key]
    if (item === undefined) continue
    if (!isPlainJson(item, depth + 1)) return false
    count++
    onlyKey = key
  }
  return count !== 1 || !isTagName(onlyKey)
}

function write (value: unknown, path: string, depth: number, parents: object[], platform: ValuePlatform): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) fail(platform, path, `${value} (only finite numbers can be stored)`)
      return JSON.stringify(value)
    case 'object':
      if (value === null) return 'null'
      return writeObject(value, path, depth, parents, platform)
    case 'undefined':
      return fail(platform, path, 'undefined (remove the key instead)')
    default:
      return fail(platform, path, `a ${typeof value}`)
  }
}

function writeObject (value: object, path: string, depth: number, parents: object[], platform: ValuePlatform): string {
  if (depth >= MAX_DEPTH) fail(platform, path, `nested deeper than ${MAX_DEPTH} levels`)
  if (parents.includes(value)) fail(platform, path, 'a circular reference')
  if (value instanceof Date) {
    const time = value.getTime()
    if (Number.isNaN(time)) fail(platform, path, 'an invalid Date')
    return `{"${DATE_TAG}":"${value.toISOString()}"}`
  }
  if (value instanceof Uint8Array) return `{"${BYTES_TAG}":"${platform.encodeBytes(value, 'base64url')}"}`
  parents.push(value)
  let out: string
  if (Array.isArray(value)) {
    const items: string[] = []
    for (let i = 0; i < value.length; i++) {
      items.push(write(value[i], `${path}[${i}]`, depth + 1, parents, platform))
    }
    out = `[${items.join(',')}]`
  } else {
    if (!isPlainObject(value)) fail(platform, path, describe(value))
    const fields: string[] = []
    let onlyKey: string | undefined
    for (const key of Object.keys(value)) {
      const item = (value as SessionRecord)[key]
      if (item === undefined) continue
      if (key === PROTO) fail(platform, `${path}.__proto__`, 'a forbidden key')
      fields.push(`${JSON.stringify(key)}:${write(item, `${path}.${key}`, depth + 1, parents, platform)}`)
      onlyKey = key
    }
    out = `{${fields.join(',')}}`
    if (fields.length === 1 && isTagName(onlyKey as string)) out = `{"${ESCAPE_TAG}":${out}}`
  }
  parents.pop()
  return out
}

/** Throws the platform's unstorable error early, at assignment, when a value could never be saved. */
export function assertStorable (value: unknown, path: string, platform: ValuePlatform): void {
  if (!isPlainJson(value, 1)) write(value, path, 1, [], platform)
}

/**
 * Parses canonical JSON text back into live values. Tags become Date and bytes again, and
 * `__proto__` keys are dropped so cookie data can never reach a prototype. Throws on anything
 * that is not a JSON object or holds a malformed tag: callers treat that as an invalid cookie.
 */
export function parse (text: string, platform: ValuePlatform): SessionRecord {
  const parsed: unknown = JSON.parse(text)
  // Only tags (always `{" x":`), a `__proto__` key or \u-escapes (which could spell either)
  // need the reviving walk; plain sessions skip it.
  const plain = !text.includes('{" ') && !text.includes(PROTO) && !text.includes('\\u')
  const value = plain ? parsed : revive(parsed, platform)
  if (typeof value !== 'object' || value === null || !isPlainObject(value)) { // arrays and tags fail isPlainObject
    throw new TypeError('session data is not an object')
  }
  return value as SessionRecord
}

function revive (value: unknown, platform: ValuePlatform): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], platform)
    return value
  }
  const object = value as SessionRecord
  const keys = Object.keys(object)
  if (keys.length === 1) {
    const key = keys[0] as string
    const body = object[key]
    if (key === DATE_TAG) return reviveDate(body)
    if (key === BYTES_TAG) return reviveBytes(body, platform)
    if (key === ESCAPE_TAG) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TypeError('bad escape tag')
      return reviveFields(body as SessionRecord, platform)
    }
  }
  return reviveFields(object, platform)
}

function reviveFields (object: SessionRecord, platform: ValuePlatform): SessionRecord {
  if (Object.hasOwn(object, PROTO)) delete object[PROTO]
  for (const key of Object.keys(object)) object[key] = revive(object[key], platform)
  return object
}

function reviveDate (body: unknown): Date {
  const date = new Date(typeof body === 'string' ? body : NaN)
  if (Number.isNaN(date.getTime())) throw new TypeError('bad date tag')
  return date
}

function reviveBytes (body: unknown, platform: ValuePlatform): Uint8Array {
  if (typeof body !== 'string' || !/^[A-Za-z0-9_-]*$/.test(body)) throw new TypeError('bad bytes tag')
  return platform.decodeBytes(body, 'base64url')
}
