import { encode as encodeBase64url, decode as decodeBase64url, isCanonical } from './base64url.js'
import type { SessionRecord, ValuePlatform } from './values-format.js'

// Flask's session cookie (itsdangerous URLSafeTimedSerializer as Flask configures it) and its
// tagged JSON (flask/json/tag.py): the one definition the Node codec (flask.ts) and the Web codec
// share. Platform-neutral: no Buffer, no node: import; bytes and errors come from a ValuePlatform,
// the HMAC-SHA1 and zlib calls are each codec's own.
//
//   [.]<payload>.<timestamp>.<signature>
//
// payload    base64url of Flask's tagged JSON (below); when zlib makes it shorter, a leading '.'
//            and base64url of the deflated JSON (RFC 1950, zlib-wrapped) instead
// timestamp  base64url of the issue time in seconds, big-endian, leading zero bytes dropped
// signature  HMAC-SHA1 over everything before the last dot, keyed with
//            HMAC-SHA1(SECRET_KEY, 'cookie-session') (itsdangerous' "hmac" key derivation)
//
// Flask cookies carry no creation time and no id, and bind nothing to the cookie name.
//
// The tagged JSON is read into the values our sessions hold and written back the way Flask
// writes it: sorted keys (by code point, as Python sorts), no spaces, and
// everything outside printable ASCII escaped, like json.dumps(sort_keys=True, ensure_ascii=True).
//
//   " t"  tuple     → array, remembered so it goes back to Flask as a tuple
//   " b"  bytes     ↔ Buffer in Node, Uint8Array on the Web (standard base64 with padding, not base64url)
//   " d"  datetime  ↔ Date (HTTP-date, whole seconds, UTC)
//   " u"  UUID      → string '8-4-4-4-12', remembered so it goes back as a UUID while unchanged
//   " m"  Markup    → string, remembered likewise
//   " di" a dict whose only key is a tag name, so it cannot be mistaken for a tag
//
// JavaScript has no tuple, UUID or Markup type, so their Flask type is remembered beside the
// value: tuples by array identity, UUID and Markup strings by (container, key, text). A value
// the application replaces or changes goes back as a plain list or string.

// ---- the cookie's layout ------------------------------------------------------------------

/** itsdangerous' salt: the signing key is HMAC-SHA1(SECRET_KEY, SALT). */
export const FLASK_SALT = 'cookie-session'

const SHAPE = /^(\.?[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{2,8})\.([A-Za-z0-9_-]{27})$/

export interface FlaskParts {
  /** Whether the payload is zlib-deflated (written with a leading '.'). */
  compressed: boolean
  /** The payload's canonical base64url text, without the leading '.'. */
  payload: string
  /** Seconds since the epoch. */
  issuedAt: number
  /** What the signature covers: the value up to its last dot. */
  signedText: string
  /** The signature as written (27 base64url characters); the caller compares it with its own. */
  signature: string
}

/**
 * The fields of a value shaped like a Flask cookie, or undefined when it is not (malformed): the
 * payload canonical base64url, and a timestamp as Flask writes it (no leading zero byte, at most
 * 6 bytes, enough until the year 8 million).
 */
export function parseFlask (value: string): FlaskParts | undefined {
  const match = SHAPE.exec(value)
  if (match === null) return undefined
  const [, payloadText, timeText, signature] = match as unknown as string[]
  const compressed = (payloadText as string).startsWith('.')
  const payload = compressed ? (payloadText as string).slice(1) : payloadText as string
  const time = decodeBase64url(timeText as string)
  if (!isCanonical(payload) || time === undefined || time.length > 6 || time[0] === 0) return undefined
  let issuedAt = 0
  for (const byte of time) issuedAt = issuedAt * 256 + byte
  return { compressed, payload, issuedAt, signedText: value.slice(0, value.length - 28), signature: signature as string }
}

/** Characters of ".<signature>" at the end of a Flask value. */
const SIGNATURE_PART_CHARS = 28

/**
 * A Flask value cut at its last dot: what the signature covers and the signature as written, or
 * undefined when it cannot be one. As for the signed format, the Node codec checks the signature
 * first, on the text as it came, and only a verified text is taken apart (`parseVerifiedFlask`):
 * the pattern over the whole value cost about as much as the HMAC.
 */
export function splitFlask (value: string): { signedText: string, signature: string } | undefined {
  const dot = value.length - SIGNATURE_PART_CHARS
  if (dot < 0 || value.charCodeAt(dot) !== 46) return undefined // 46: '.'
  return { signedText: value.slice(0, dot), signature: value.slice(dot + 1) }
}

/**
 * The fields of a Flask text whose signature verified, or undefined when they are not Flask's:
 * the timestamp as parseFlask wants it, the payload taken as the signer's base64url (only a
 * holder of the key gets a text here).
 */
export function parseVerifiedFlask (signedText: string): Omit<FlaskParts, 'signature'> | undefined {
  const dot = signedText.lastIndexOf('.')
  const timeText = signedText.slice(dot + 1)
  if (dot < 0 || timeText.length < 2 || timeText.length > 8) return undefined
  const time = decodeBase64url(timeText)
  if (time === undefined || time.length > 6 || time[0] === 0) return undefined
  let issuedAt = 0
  for (const byte of time) issuedAt = issuedAt * 256 + byte
  // A leading '.' marks a compressed payload, unless it is the dot before the timestamp (an empty one), as parseFlask reads it.
  const compressed = dot > 0 && signedText.charCodeAt(0) === 46
  return { compressed, payload: signedText.slice(compressed ? 1 : 0, dot), issuedAt, signedText }
}

/** The timestamp field for `seconds`: big-endian bytes without leading zeros, base64url. */
export function timestampText (seconds: number): string {
  const bytes: number[] = []
  for (let rest = seconds; bytes.length === 0 || rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
  return encodeBase64url(Uint8Array.from(bytes))
}

/** Python keeps big integers exact; a JavaScript number would silently round them. */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g

/** Throws when the JSON text holds an integer a JavaScript number cannot keep exactly. */
export function refuseLongIntegers (text: string): void {
  const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  for (const [integer] of outsideStrings.matchAll(LONG_INTEGER)) {
    if (!Number.isSafeInteger(Number(integer))) throw new RangeError('integer beyond 2^53')
  }
}

/** The session object in a payload's JSON text, tags read; throws when it is not one. */
export function parsePayload (text: string, platform: ValuePlatform): SessionRecord {
  const data = untag(JSON.parse(text), platform)
  if (typeof data !== 'object' || data === null || Object.getPrototypeOf(data) !== Object.prototype) {
    throw new TypeError('session data is not an object')
  }
  return data as SessionRecord
}

// ---- the tags -----------------------------------------------------------------------------

const TUPLE = ' t'
const BYTES = ' b'
const DATE = ' d'
const UUID = ' u'
const MARKUP = ' m'
const DICT = ' di'
const TAGS = new Set([DICT, TUPLE, BYTES, MARKUP, UUID, DATE])
const PROTO = '__proto__'

type StringTag = typeof UUID | typeof MARKUP
type Container = SessionRecord | unknown[]

const tuples = new WeakSet<unknown[]>()
interface StringMark { tag: StringTag, text: string }
const taggedStrings = new WeakMap<Container, Map<string, StringMark>>()

/** What a UUID or Markup tag reads as, until its parent records it and keeps the bare string. */
class TaggedString {
  constructor (readonly tag: StringTag, readonly text: string) {}
}

// ---- reading ------------------------------------------------------------------------------

/**
 * Turns parsed JSON into session values, innermost first as Flask's object_hook does. Throws on
 * a tag whose body Flask would never write; the caller turns that into 'bad-payload'.
 */
export function untag (value: unknown, platform: ValuePlatform): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = untagSlot(value, String(i), value[i], platform)
    return value
  }
  const object = value as SessionRecord
  if (Object.hasOwn(object, PROTO)) delete object[PROTO]
  const keys = Object.keys(object)
  for (const key of keys) object[key] = untagSlot(object, key, object[key], platform)
  return keys.length === 1 && TAGS.has(keys[0] as string) ? fromTag(keys[0] as string, object, platform) : object
}

function untagSlot (container: Container, key: string, item: unknown, platform: ValuePlatform): unknown {
  const value = untag(item, platform)
  if (!(value instanceof TaggedString)) return value
  remember(container, key, value.tag, value.text)
  return value.text
}

function remember (container: Container, key: string, tag: StringTag, text: string): void {
  let marks = taggedStrings.get(container)
  if (marks === undefined) taggedStrings.set(container, marks = new Map())
  marks.set(key, { tag, text })
}

function fromTag (tag: string, object: SessionRecord, platform: ValuePlatform): unknown {
  const body = object[tag]
  switch (tag) {
    case TUPLE:
      if (!Array.isArray(body)) throw new TypeError('bad tuple tag')
      tuples.add(body)
      return body
    case BYTES:
      return readBytes(body, platform)
    case DATE:
      return readDate(body)
    case UUID:
      if (typeof body !== 'string' || !/^[0-9a-f]{32}$/.test(body)) throw new TypeError('bad uuid tag')
      return new TaggedString(UUID, body.replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'))
    case MARKUP:
      if (typeof body !== 'string') throw new TypeError('bad markup tag')
      return new TaggedString(MARKUP, body)
    default: // DICT: {" di": {"<tag>__": value}} is the user's {"<tag>": value}
      return readEscapedDict(body)
  }
}

function readEscapedDict (body: unknown): SessionRecord {
  if (!isPlainObject(body)) throw new TypeError('bad dict tag')
  const keys = Object.keys(body)
  const key = keys[0] as string
  if (keys.length !== 1 || !key.endsWith('__') || key === `${PROTO}__`) throw new TypeError('bad dict tag')
  const name = key.slice(0, -2)
  const mark = taggedStrings.get(body)?.get(key)
  const object: SessionRecord = { [name]: body[key] }
  if (mark !== undefined) remember(object, name, mark.tag, mark.text)
  return object
}

/**
 * Carries the marks of `original` over to its `copy` (values.cloneParsed's hook): the copy's
 * tuples stay tuples and its UUID and Markup strings keep their Flask type, as in a fresh read.
 */
export function copyMarks (original: object, copy: object): void {
  if (tuples.has(original as unknown[])) tuples.add(copy as unknown[])
  const marks = taggedStrings.get(original as Container)
  if (marks !== undefined) taggedStrings.set(copy as Container, new Map(marks))
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

function readBytes (body: unknown, platform: ValuePlatform): Uint8Array {
  if (typeof body !== 'string' || !BASE64.test(body)) throw new TypeError('bad bytes tag')
  // Non-zero unused bits: the same rule as base64url's, on the same characters.
  if (!isCanonical(body.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_'))) throw new TypeError('bad bytes tag')
  return platform.decodeBytes(body, 'base64')
}

const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
/**
 * Python reads a two-digit year (`0050`) as 2050 and has no year 10000, so only dates in these
 * years survive a trip through Flask; others are refused both ways rather than silently moved.
 */
const FIRST_YEAR = 100
const LAST_YEAR = 9999

function readDate (body: unknown): Date {
  const match = typeof body === 'string' ? HTTP_DATE.exec(body) : null
  if (match === null) throw new TypeError('bad date tag')
  const [, day, , year, hours, minutes, seconds] = match.map(Number) as number[]
  const date = new Date(0)
  date.setUTCFullYear(year as number, MONTHS.indexOf(match[2] as string), day)
  date.setUTCHours(hours as number, minutes, seconds)
  // Round-tripping rejects what the regular expression lets through: 31 Feb, 25:00, a wrong weekday.
  if (date.toUTCString() !== body || (year as number) < FIRST_YEAR) throw new TypeError('bad date tag')
  return date
}

/** A JSON object as parsed (arrays, Dates, bytes and tagged strings are not). */
function isPlainObject (value: unknown): value is SessionRecord {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

// ---- writing ------------------------------------------------------------------------------

/**
 * Flask's JSON text for a session: `data` plus `_permanent: true` when permanent (Flask's own
 * key for the flag, so a `_permanent` in `data` is replaced). Values are those values.ts
 * accepts; throws the platform's unstorable error for a Date Flask cannot read back.
 */
export function dumpSession (data: SessionRecord, permanent: boolean, platform: ValuePlatform): string {
  const keys = definedKeys(data)
  const own = keys.indexOf('_permanent')
  if (own !== -1) keys.splice(own, 1)
  if (permanent) keys.push('_permanent')
  const json = writeFields(data, keys, permanent, platform)
  // Only strings can hold such characters (JSON's own syntax is ASCII), and JSON.stringify has
  // already escaped those below ' ': one pass over the whole text escapes them all as Python does.
  return NOT_PRINTABLE_ASCII.test(json) ? json.replace(EVERY_NOT_PRINTABLE_ASCII, escapeUnit) : json
}

// Written by hand in loops, without closures or intermediate arrays: this runs on every write of
// a flask cookie, and the map/filter/join version cost three times values.serialize on the same data.

function write (value: unknown, mark: StringMark | undefined, platform: ValuePlatform): string {
  switch (typeof value) {
    case 'string':
      if (mark?.text !== value) return string(value)
      return `{${string(mark.tag)}:${string(mark.tag === UUID ? value.replaceAll('-', '') : value)}}`
    case 'number':
      // Integers past 2^53 are not exact here; an exponent makes Python read them as the float they are.
      return Number.isInteger(value) && !Number.isSafeInteger(value) ? value.toExponential() : JSON.stringify(value)
    case 'object':
      if (value === null) return 'null'
      if (value instanceof Date) return `{${string(DATE)}:${string(httpDate(value, platform))}}`
      if (value instanceof Uint8Array) return `{${string(BYTES)}:"${platform.encodeBytes(value, 'base64')}"}`
      if (Array.isArray(value)) return writeArray(value, platform)
      return writeFields(value as SessionRecord, definedKeys(value as SessionRecord), false, platform)
    default: // boolean: values.ts has already refused everything else
      return String(value)
  }
}

function writeArray (array: unknown[], platform: ValuePlatform): string {
  const marks = taggedStrings.get(array)
  let items = ''
  for (let i = 0; i < array.length; i++) {
    items += `${i === 0 ? '' : ','}${write(array[i], marks === undefined ? undefined : marks.get(String(i)), platform)}`
  }
  return tuples.has(array) ? `{${string(TUPLE)}:[${items}]}` : `[${items}]`
}

/** `withPermanent`: the session's own object, whose `_permanent` key (if listed) is Flask's flag. */
function writeFields (object: SessionRecord, keys: string[], withPermanent: boolean, platform: ValuePlatform): string {
  const marks = taggedStrings.get(object)
  if (keys.length === 1 && TAGS.has(keys[0] as string)) {
    const key = keys[0] as string
    return `{${string(DICT)}:{${string(`${key}__`)}:${write(object[key], marks?.get(key), platform)}}}`
  }
  if (keys.length > 1) keys.sort(byCodePoint)
  let fields = ''
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    const value = withPermanent && key === '_permanent' ? 'true' : write(object[key], marks?.get(key), platform)
    fields += `${i === 0 ? '' : ','}${string(key)}:${value}`
  }
  return `{${fields}}`
}

function definedKeys (object: SessionRecord): string[] {
  const keys: string[] = []
  for (const key of Object.keys(object)) if (object[key] !== undefined) keys.push(key)
  return keys
}

const NOT_PRINTABLE_ASCII = /[\u007f-\uffff]/
const EVERY_NOT_PRINTABLE_ASCII = /[\u007f-\uffff]/g

/** A JSON string; dumpSession escapes what is outside ' '..'~' afterwards, as Python's ensure_ascii. */
function string (text: string): string {
  return JSON.stringify(text)
}

function escapeUnit (unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** Python sorts str by code point; JavaScript by UTF-16 unit, which puts U+10000.. before U+E000... */
function byCodePoint (a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

function codePointRank (unit: number): number {
  if (unit >= 0xe000) return unit - 0x800
  if (unit >= 0xd800) return unit + 0x2000
  return unit
}

function httpDate (date: Date, platform: ValuePlatform): string {
  const year = date.getUTCFullYear()
  if (!(year >= FIRST_YEAR && year <= LAST_YEAR)) {
    throw platform.unstorable(`a Date in the session (${date.toISOString()}) is outside the years ${FIRST_YEAR} to ${LAST_YEAR}, which Flask cannot read`)
  }
  // Flask keeps whole seconds: the HTTP-date has no fraction.
  return date.toUTCString()
}
