import { FST_SESSION_UNSTORABLE_VALUE } from './errors.js'
import * as format from './codecs/values-format.js'
import { isPlainObject, PROTO, type SessionRecord, type ValuePlatform } from './codecs/values-format.js'

// What a session may hold, and its canonical text form, for the Node plugin: the rules are in
// codecs/values-format.ts (shared with the Web codec); here they are bound to Buffer (bytes read
// back as Buffer) and to FST_SESSION_UNSTORABLE_VALUE, and the Node-only helpers for the verified
// memory and change detection (copies and comparisons) follow.

export type { SessionRecord } from './codecs/values-format.js'

/** Node's bytes and errors: bytes are read back as Buffer, spelled by Buffer's native base64. */
export const NODE_VALUES: ValuePlatform = {
  unstorable: (message) => new FST_SESSION_UNSTORABLE_VALUE(message),
  encodeBytes: (bytes, alphabet) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(alphabet),
  decodeBytes: (text, alphabet) => Buffer.from(text, alphabet)
}

/**
 * The canonical JSON text of a value, with Date and bytes tagged. Throws on anything that cannot
 * be stored. Used both to write cookies and, by comparing texts, to detect changes by value.
 */
export function serialize (value: unknown): string {
  return format.serialize(value, NODE_VALUES)
}

/** serialize(data) for `data` just parsed from `text`, without serialising when `text` is already canonical (values-format.ts). */
export function canonicalText (text: string, data: SessionRecord): string {
  return format.canonicalText(text, data, NODE_VALUES)
}

/** Throws FST_SESSION_UNSTORABLE_VALUE early, at assignment, when a value could never be saved. */
export function assertStorable (value: unknown, path: string): void {
  format.assertStorable(value, path, NODE_VALUES)
}

/**
 * Parses canonical JSON text back into live values. Tags become Date and Buffer again, and
 * `__proto__` keys are dropped so cookie data can never reach a prototype. Throws on anything
 * that is not a JSON object or holds a malformed tag: callers treat that as an invalid cookie.
 */
export function parse (text: string): SessionRecord {
  return format.parse(text, NODE_VALUES)
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

/** A copy of an object or array (the callers copy only those: other values are shared). */
function cloneValue (value: object, copied: ((original: object, copy: object) => void) | undefined): object {
  if (value instanceof Date) return new Date(value.getTime())
  if (value instanceof Uint8Array) return Buffer.from(value)
  // Copied whole first (slice, spread: V8 copies an object with its shape in one step, where
  // adding the keys one by one went through a megamorphic store for each), then only the nested
  // objects and arrays are copied in turn.
  let copy: object
  if (Array.isArray(value)) {
    const items = value.slice() // parsed arrays have no holes: the copy stays packed
    for (let i = 0; i < items.length; i++) {
      const item: unknown = items[i]
      if (typeof item === 'object' && item !== null) items[i] = cloneValue(item, copied)
    }
    copy = items
  } else {
    const object: SessionRecord = { ...value }
    for (const key in object) {
      // parse never leaves a `__proto__` key; were one there, `=` below would set the prototype.
      if (key === PROTO) {
        delete object[key]
        continue
      }
      const item = object[key]
      if (typeof item === 'object' && item !== null) object[key] = cloneValue(item, copied)
    }
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
