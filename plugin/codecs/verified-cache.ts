import { MAX_COOKIE_BYTES, type Codec, type Decoded, type EncodeInput, type InvalidReason } from './codec.js'

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
// - each plugin registration has its own codec and cache, so a key change starts empty;
// - bounded: at most LIMIT entries (two generations of LIMIT / 2, see below), each a value under
//   4096 bytes, its payload text (at most 256 KiB for a compressed flask cookie: 512 such entries
//   are 128 MiB, so flask payloads over 16 KiB are not remembered) and, for texts up to 4096
//   characters, their parsed data (about 16 MB for 512 full-size cookies, a few hundred KB for
//   small ones).
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

const LIMIT = 512
const KEY_CHARS = 24
/** Payload texts above this (only inflated flask cookies get there) are read the full way every time. */
const MAX_TEXT_CHARS = 16 * 1024
/**
 * Parsed data takes several times the memory of its text (about 26 KB for a full 3.6 KB signed
 * cookie), so it is kept only for texts that fit a cookie uncompressed: larger (inflated flask)
 * ones are read from their text on every repeat.
 */
const MAX_PRISTINE_CHARS = 4096

interface Verified extends Omit<Decoded, 'data'> {
  value: string
}

export function withVerifiedCache (codec: Codec): Codec {
  // Two generations: entries go into `newer`; when it is full it becomes `older` and the previous
  // older is dropped whole. Deleting the oldest entry of one Map instead cost about 6k instructions
  // per issued cookie: V8 leaves deleted slots at the front of a Map until it rehashes, and
  // finding the oldest entry walked over all of them. A cookie read from `older` moves to
  // `newer`, so one still in use outlives those that are not.
  let newer = new Map<string, Verified>()
  let older = new Map<string, Verified>()
  function remember (key: string, entry: Verified): void {
    if (newer.size >= LIMIT / 2) {
      older = newer
      newer = new Map()
    }
    newer.set(key, entry)
  }
  function recall (key: string): Verified | undefined {
    const recent = newer.get(key)
    if (recent !== undefined) return recent
    const kept = older.get(key)
    if (kept !== undefined) remember(key, kept)
    return kept
  }
  const { textFor } = codec
  return {
    encode (input: EncodeInput): string {
      const value = codec.encode(input)
      // Too large a value is refused before it is sent (and would never be looked up).
      if (textFor === undefined || value.length > MAX_COOKIE_BYTES) return value
      const { json, issuedAt, createdAt, id, permanent } = input
      remember(value.slice(-KEY_CHARS), { value, json, text: textFor(input), issuedAt, createdAt, id, permanent, keyIndex: 0 })
      return value
    },
    readData: codec.readData,
    copyData: codec.copyData,
    decode (value: string): Decoded | InvalidReason {
      const key = value.slice(-KEY_CHARS)
      const hit = recall(key)
      if (hit !== undefined && hit.value === value) {
        const { json, text, issuedAt, createdAt, id, permanent, keyIndex } = hit
        // Parsed once, at the first repeat, and copied for each.
        const pristine = hit.pristine ??= text.length > MAX_PRISTINE_CHARS ? undefined : codec.readData(text)
        const data = pristine === undefined ? codec.readData(text) : codec.copyData(pristine)
        return { data, pristine, json, text, issuedAt, createdAt, id, permanent, keyIndex }
      }
      const decoded = codec.decode(value)
      if (typeof decoded === 'string' || decoded.text.length > MAX_TEXT_CHARS) return decoded
      const { json, text, issuedAt, createdAt, id, permanent, keyIndex } = decoded
      remember(key, { value, json, text, issuedAt, createdAt, id, permanent, keyIndex })
      return decoded
    }
  }
}
