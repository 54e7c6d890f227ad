import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'

// A browser sends the same cookie on every request until the session changes. Verifying a MAC
// or decrypting costs far more than a map lookup (createHmac alone is most of a signed read), so
// cookies that already verified are remembered by their exact text, and a repeat skips the
// crypto, base64, inflating and UTF-8 decoding. Each request still gets its own live objects:
// the data is parsed once at the first repeat and kept aside ("pristine", never handed out),
// every repeat gets a copy of it (`copyData`, which for flask also copies the marks that send
// tuples and UUIDs back to Flask as such). The pristine data also lets change detection compare
// instead of serialising (session.ts).
//
// Why this is safe:
// - only a value that fully verified, or that this codec has just issued, is ever stored, and
//   only the identical text hits: the cache cannot make a forged or altered cookie pass;
// - time limits are not cached: persistence checks issuedAt/createdAt on every request;
// - each plugin registration has its own codec and cache, so a key change starts empty.
//
// How big. A site has as many live cookies as active users, each browser sending its latest: a
// memory smaller than that population mostly misses (the earlier 512 entries missed 19 requests in
// 20 for 10,000 users picked at random). So the memory is bounded by the bytes it holds, not by a
// count: MEMORY_BYTES in all, estimated per entry from its strings and its parsed data (see
// `sizeOf`), in two generations of half each (below). At the default that is about 14,000 small
// sessions (a 200-byte cookie, its data parsed) or some 600 full 4 KB ones. Why 16 MiB: at
// 8 MiB the memory held about 7,000 small sessions, so with 10,000 users picked at random a third
// of the requests missed, and a miss costs a full verification (AES-GCM for `encrypted`): the
// population bench went from 458k to 429k instructions per request for `encrypted` (0.66 → 0.89
// of secure-session's overhead ÷ ours) for about 4.5 MB more heap (+5.3 → +9.8 MB after the run).
// The heap it really takes is measured by `npm run bench` (population variants) and stated in
// docs/performance.md; test/plugin/persistence.test.ts holds it under 1.25 × MEMORY_BYTES.
//
// What is kept: the value, flat (a value parsed out of a request is a slice of the whole Cookie
// header, which it would otherwise keep alive), its payload text (an inflated payload could be
// 256 KiB, so texts over 16 KiB are not remembered) and, for texts up to 4096 characters, the
// data parsed once at the first repeat (about 7 times the text, for copies and comparisons).
//
// Entries are found by the value's last KEY_CHARS characters, then the whole value must be equal.
// Every format ends in its MAC or tag (at least 27 base64url characters), so the tail already
// tells verified cookies apart, and a map key of 24 characters is hashed in a fixed time where
// the whole value (up to 4 KB) would be hashed on every request. A value that shares a
// remembered tail but differs anywhere else is simply a miss and goes through full verification.
//
// A cookie is remembered when it is issued, too (formats with `textFor`): the browser sends it
// on its next request, so a session written on every request (a counter, a flash message)
// would otherwise pay the full verification every time.

/** Bytes the memory may hold, estimated (two generations of half each). */
export const MEMORY_BYTES = 16 * 1024 * 1024
const KEY_CHARS = 24
/** Payload texts above this (only inflated payloads get there) are read the full way every time. */
const MAX_TEXT_CHARS = 16 * 1024
/**
 * Parsed data takes several times the memory of its text (about 26 KB for a full 3.6 KB signed
 * cookie), so it is kept only for texts that fit a cookie uncompressed: larger (inflated) ones
 * are read from their text on every repeat.
 */
const MAX_PRISTINE_CHARS = 4096
/** Bytes of an entry besides its strings: the entry object, its key and its Map slot. */
const ENTRY_BYTES = 200
/** Bytes of parsed data per character of its JSON text (measured: 7 for a full signed cookie). */
const PARSED_BYTES_PER_CHAR = 7

interface Verified extends Omit<Decoded, 'data'> {
  value: string
}

/** An entry's estimated bytes: its strings (one byte a character: cookie values and most JSON are ASCII), its parsed data when kept. */
function sizeOf (value: string, text: string, parsed: boolean): number {
  return ENTRY_BYTES + value.length + text.length * (parsed ? 1 + PARSED_BYTES_PER_CHAR : 1)
}

/**
 * A copy of `text` that shares no memory with the string it was cut from (V8 keeps a slice of 13
 * characters or more as a view of its parent). Exact for latin1 text only: a character above
 * U+00FF keeps its low byte, so the caller compares the copy with the original (below).
 */
function flat (text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1')
}

/** `codec` with a memory of verified values; values longer than `maxValueBytes` are never sent, so never kept. */
export function withVerifiedCache (codec: Codec, maxValueBytes: number): Codec {
  // Two generations: entries go into `newer`; when it holds half the bytes it becomes `older` and
  // the previous older is dropped whole. Deleting the oldest entry of one Map instead cost about
  // 6k instructions per issued cookie: V8 leaves deleted slots at the front of a Map until it
  // rehashes, and finding the oldest entry walked over all of them. A cookie read from `older`
  // moves to `newer`, so one still in use outlives those that are not.
  let newer = new Map<string, Verified>()
  let older = new Map<string, Verified>()
  let newerBytes = 0
  function remember (key: string, entry: Verified, bytes: number): void {
    if (newerBytes + bytes > MEMORY_BYTES / 2) {
      older = newer
      newer = new Map()
      newerBytes = 0
    }
    newer.set(key, entry)
    newerBytes += bytes
  }
  function recall (key: string): Verified | undefined {
    const recent = newer.get(key)
    if (recent !== undefined) return recent
    const kept = older.get(key)
    if (kept !== undefined) remember(key, kept, sizeOf(kept.value, kept.text, kept.pristine !== undefined))
    return kept
  }
  const { textFor } = codec
  return {
    encode (input: EncodeInput): string {
      const value = codec.encode(input)
      // Too large a value is refused before it is sent (and would never be looked up).
      if (textFor === undefined || value.length > maxValueBytes) return value
      const { json, issuedAt, createdAt, id, permanent } = input
      const text = textFor(input)
      remember(value.slice(-KEY_CHARS), { value, json, text, issuedAt, createdAt, id, permanent, keyIndex: 0 }, sizeOf(value, text, false))
      return value
    },
    readData: codec.readData,
    copyData: codec.copyData,
    decode (value: string): Decoded | InvalidReason {
      const hit = recall(value.slice(-KEY_CHARS))
      if (hit !== undefined && hit.value === value) {
        const { json, text, issuedAt, createdAt, id, permanent, keyIndex } = hit
        // Parsed once, at the first repeat, and copied for each.
        let pristine = hit.pristine
        if (pristine === undefined && text.length <= MAX_PRISTINE_CHARS) {
          pristine = hit.pristine = codec.readData(text)
          newerBytes += text.length * PARSED_BYTES_PER_CHAR // recall() has just put it in `newer`
        }
        const data = pristine === undefined ? codec.readData(text) : codec.copyData(pristine)
        return { data, pristine, json, text, issuedAt, createdAt, id, permanent, keyIndex }
      }
      // Decoded from a flat copy: the fields it slices out are then views of the copy the entry
      // keeps, not of the request's Cookie header.
      // Every format's value is ASCII; a character beyond latin1 (which @fastify/cookie decodes
      // from a %-escape) would lose its high byte in the copy and could spell a valid cookie, so
      // a copy that differs from the original is refused here, before any codec reads it.
      const copy = flat(value)
      if (copy !== value) return 'malformed'
      const decoded = codec.decode(copy)
      if (typeof decoded === 'string' || decoded.text.length > MAX_TEXT_CHARS) return decoded
      const { json, text, issuedAt, createdAt, id, permanent, keyIndex } = decoded
      remember(copy.slice(-KEY_CHARS), { value: copy, json, text, issuedAt, createdAt, id, permanent, keyIndex }, sizeOf(copy, text, false))
      return decoded
    }
  }
}
