import { FST_SESSION_UNSTORABLE_VALUE } from './errors.js'

// What a session may hold, and its canonical text form.
//
// Storable: null, booleans, finite numbers, strings (any UTF-16, lone surrogates included:
// JSON escapes them, so they round-trip exactly), arrays, plain objects, Date and
// Buffer/Uint8Array (read back as Buffer). `undefined` object properties are skipped, as JSON
// does. Anything else throws FST_SESSION_UNSTORABLE_VALUE naming the path of the bad value.
//
// Dates and bytes are written as one-key "tag" objects, like Flask's tagged JSON:
// `{" d": "<ISO date>"}` and `{" b": "<base64url>"}`. A user object that happens to have exactly
// one key that is a tag name is wrapped as `{" o": {...}}` so it can never be mistaken for a tag.

export type SessionRecord = Record<string, unknown>

const DATE_TAG = ' d'
const BYTES_TAG = ' b'
const ESCAPE_TAG = ' o'
const MAX_DEPTH = 64
/** JSON.parse makes `__proto__` an ordinary own key; copying such a key with `=` would set a prototype. */
const PROTO = '__proto__'

function isTagName (key: string): boolean {
  return key === DATE_TAG || key === BYTES_TAG || key === ESCAPE_TAG
}

function fail (path: string, what: string): never {
  throw new FST_SESSION_UNSTORABLE_VALUE(`${path} is ${what}`)
}

function describe (value: object): string {
  const name = (value.constructor as { name?: string } | undefined)?.name
  return name ? `a ${name} instance (only plain objects, arrays, Date and Buffer can be stored)` : 'an unsupported object'
}

function isPlainObject (value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The canonical JSON text of a value, with Date and bytes tagged. Throws on anything that cannot
 * be stored. Used both to write cookies and, by comparing texts, to detect changes by value.
 */
export function serialize (value: unknown): string {
  // Most sessions are plain JSON: check that without allocating, then let V8's native
  // JSON.stringify write it (3-4x faster than write()). Dates, bytes, tag look-alikes and
  // everything that must fail take write(), which produces the same text or the error.
  return isPlainJson(value, 0) ? JSON.stringify(value) : write(value, 'session', 0, [])
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

function write (value: unknown, path: string, depth: number, parents: object[]): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) fail(path, `${value} (only finite numbers can be stored)`)
      return JSON.stringify(value)
    case 'object':
      if (value === null) return 'null'
      return writeObject(value, path, depth, parents)
    case 'undefined':
      return fail(path, 'undefined (remove the key instead)')
    default:
      return fail(path, `a ${typeof value}`)
  }
}

function writeObject (value: object, path: string, depth: number, parents: object[]): string {
  if (depth >= MAX_DEPTH) fail(path, `nested deeper than ${MAX_DEPTH} levels`)
  if (parents.includes(value)) fail(path, 'a circular reference')
  if (value instanceof Date) {
    const time = value.getTime()
    if (Number.isNaN(time)) fail(path, 'an invalid Date')
    return `{"${DATE_TAG}":"${value.toISOString()}"}`
  }
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    return `{"${BYTES_TAG}":"${bytes.toString('base64url')}"}`
  }
  parents.push(value)
  let out: string
  if (Array.isArray(value)) {
    const items: string[] = []
    for (let i = 0; i < value.length; i++) {
      items.push(write(value[i], `${path}[${i}]`, depth + 1, parents))
    }
    out = `[${items.join(',')}]`
  } else {
    if (!isPlainObject(value)) fail(path, describe(value))
    const fields: string[] = []
    let onlyKey: string | undefined
    for (const key of Object.keys(value)) {
      const item = (value as SessionRecord)[key]
      if (item === undefined) continue
      if (key === PROTO) fail(`${path}.__proto__`, 'a forbidden key')
      fields.push(`${JSON.stringify(key)}:${write(item, `${path}.${key}`, depth + 1, parents)}`)
      onlyKey = key
    }
    out = `{${fields.join(',')}}`
    if (fields.length === 1 && isTagName(onlyKey as string)) out = `{"${ESCAPE_TAG}":${out}}`
  }
  parents.pop()
  return out
}

/** Throws FST_SESSION_UNSTORABLE_VALUE early, at assignment, when a value could never be saved. */
export function assertStorable (value: unknown, path: string): void {
  if (!isPlainJson(value, 1)) write(value, path, 1, [])
}

/**
 * Parses canonical JSON text back into live values. Tags become Date and Buffer again, and
 * `__proto__` keys are dropped so cookie data can never reach a prototype. Throws on anything
 * that is not a JSON object or holds a malformed tag: callers treat that as an invalid cookie.
 */
export function parse (text: string): SessionRecord {
  const parsed: unknown = JSON.parse(text)
  // Only tags (always `{" x":`), a `__proto__` key or \u-escapes (which could spell either)
  // need the reviving walk; plain sessions skip it.
  const plain = !text.includes('{" ') && !text.includes(PROTO) && !text.includes('\\u')
  const value = plain ? parsed : revive(parsed)
  if (typeof value !== 'object' || value === null || !isPlainObject(value)) { // arrays and tags fail isPlainObject
    throw new TypeError('session data is not an object')
  }
  return value as SessionRecord
}

function revive (value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i])
    return value
  }
  const object = value as SessionRecord
  const keys = Object.keys(object)
  if (keys.length === 1) {
    const key = keys[0] as string
    const body = object[key]
    if (key === DATE_TAG) return reviveDate(body)
    if (key === BYTES_TAG) return reviveBytes(body)
    if (key === ESCAPE_TAG) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TypeError('bad escape tag')
      return reviveFields(body as SessionRecord)
    }
  }
  return reviveFields(object)
}

function reviveFields (object: SessionRecord): SessionRecord {
  if (Object.hasOwn(object, PROTO)) delete object[PROTO]
  for (const key of Object.keys(object)) object[key] = revive(object[key])
  return object
}

function reviveDate (body: unknown): Date {
  const date = new Date(typeof body === 'string' ? body : NaN)
  if (Number.isNaN(date.getTime())) throw new TypeError('bad date tag')
  return date
}

function reviveBytes (body: unknown): Buffer {
  if (typeof body !== 'string' || !/^[A-Za-z0-9_-]*$/.test(body)) throw new TypeError('bad bytes tag')
  return Buffer.from(body, 'base64url')
}

/** A deep copy that keeps Date and Buffer types (what `session.data()` returns). */
export function copy (record: SessionRecord): SessionRecord {
  return parse(serialize(record))
}

// Parsed data, reused. A remembered cookie's data is parsed once and kept aside, never handed to a
// handler (the "pristine" copy). Each request then gets a copy of it, and at save time the live
// data is compared with it: both cost a fraction of JSON.parse and of serialize, whose text is
// only needed when something really changed.

/**
 * A deep copy of what `parse` (or flask's reader) returned: new objects, arrays, Dates and
 * Buffers; strings shared. `copied` is told of each object and array copied, for formats that
 * keep facts beside them (flask's tuple and UUID marks).
 */
export function cloneParsed (record: SessionRecord, copied?: (original: object, copy: object) => void): SessionRecord {
  return cloneValue(record, copied) as SessionRecord
}

function cloneValue (value: unknown, copied: ((original: object, copy: object) => void) | undefined): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof Date) return new Date(value.getTime())
  if (value instanceof Uint8Array) return Buffer.from(value)
  let copy: object
  if (Array.isArray(value)) {
    // Pushed, not preallocated: `new Array(n)` makes a holey array, which JSON.stringify walks
    // the slow way, element by element through the prototype chain.
    const items: unknown[] = []
    for (let i = 0; i < value.length; i++) items.push(cloneValue(value[i], copied))
    copy = items
  } else {
    const object: SessionRecord = {}
    // parse never leaves a `__proto__` key; were one there, `=` would set the prototype.
    for (const key of Object.keys(value)) if (key !== PROTO) object[key] = cloneValue((value as SessionRecord)[key], copied)
    copy = object
  }
  copied?.(value, copy)
  return copy
}

/**
 * Whether `serialize(live)` would give exactly the text of `parsed` (something `parse` returned):
 * same plain structure, same key order, same values (an `undefined` property is skipped, as
 * serialize skips it). False whenever in doubt, e.g. a class instance with the same fields: the
 * caller then serialises, which also throws for what cannot be stored.
 */
export function equalsParsed (live: unknown, parsed: unknown): boolean {
  if (live === parsed) return true
  if (typeof live !== 'object' || live === null || typeof parsed !== 'object' || parsed === null) return false
  if (Array.isArray(parsed)) {
    if (!Array.isArray(live) || live.length !== parsed.length) return false
    for (let i = 0; i < parsed.length; i++) {
      if (!equalsParsed(live[i], parsed[i])) return false
    }
    return true
  }
  if (parsed instanceof Date) return live instanceof Date && live.getTime() === parsed.getTime()
  if (parsed instanceof Uint8Array) {
    return live instanceof Uint8Array && Buffer.from(live.buffer, live.byteOffset, live.byteLength).equals(parsed)
  }
  if (!isPlainObject(live)) return false // arrays, Dates, bytes and class instances included
  const parsedKeys = Object.keys(parsed)
  let index = 0
  for (const key of Object.keys(live)) {
    const item = (live as SessionRecord)[key]
    if (item === undefined) continue
    if (key !== parsedKeys[index] || !equalsParsed(item, (parsed as SessionRecord)[key])) return false
    index++
  }
  return index === parsedKeys.length
}
