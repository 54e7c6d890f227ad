import type { SessionRecord } from '../values.js'
import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'

// A browser sends the same cookie on every request until the session changes. Verifying a MAC
// or decrypting costs several times more than finding the cookie again, so cookies that
// verified are remembered by their exact text, and a repeat skips the shape check, the crypto,
// base64, inflating and UTF-8 checks. Each request still gets its own live objects.
//
// Why this is safe:
// - only a value that fully verified, or that this codec has just issued, is ever stored, and
//   only the identical text hits (the whole value is compared): the memory cannot make a forged
//   or altered cookie pass;
// - time limits are not remembered as answers: persistence checks issuedAt/createdAt on every
//   request, from the times stored exactly (float64);
// - each plugin registration has its own codec and memory, so a key change starts empty.
//
// How big, and why off the JavaScript heap. A site has as many live cookies as active users, each
// browser sending its latest: a memory smaller than that population mostly misses. But a memory
// of 10,000 sessions as JavaScript objects (strings, parsed data, Map entries: about ten objects
// each) made every major garbage collection mark them all: in the population bench it cost more
// than it saved (ours, signed: 314.6k instructions a request with it, 290.2k with it turned off,
// most of the difference in the GC's marking). So the records live in Buffers, which the GC
// never scans: MEMORY_BYTES of records exactly, allocated a CHUNK_BYTES piece at a time as they
// fill (a small app never takes more than one), written one after another around a ring, the
// oldest overwritten first; a record read while in the older half of the ring is copied to the
// front, so a cookie in use outlives those that are not. At about 340 bytes a record for a
// 200-byte cookie, 16 MiB holds some 49,000 small sessions, or 3,900 full 4 KB ones. A hit there
// costs a comparison of the value and a JSON.parse of its payload.
//
// The index is set-associative: the value's last HASHED_CHARS characters (its MAC or tag, random
// for every format) pick one of BUCKETS buckets of WAYS slots; a slot holds the 32-bit hash and the
// record's position in the ring, and a record is alive while the ring has not come round to it.
// A value that shares a bucket and hash with a remembered one but differs anywhere is simply a
// miss. Texts over MAX_TEXT_CHARS (only inflated payloads get there) are not remembered.
//
// In front of the ring, the hot few: a record read twice within HOT_WITHIN look-ups is also kept
// parsed, on the heap ("pristine", never handed out), HOT_BYTES of them at most (estimated, in two
// generations of half each: some 2,000 small sessions); each of its repeats gets a
// copy (`copyData`, which for flask also copies the marks that send tuples and UUIDs back to
// Flask as such), cheaper than JSON.parse, and change detection compares the data with it instead
// of serialising (session.ts). A population read round-robin never gets there; one busy user does.
//
// A cookie is remembered when it is issued, too (formats with `textFor`): the browser sends it
// on its next request, so a session written on every request (a counter, a flash message)
// would otherwise pay the full verification every time.

/** Bytes of records the memory may hold, exactly (plus its index: INDEX_BYTES). */
export const MEMORY_BYTES = 16 * 1024 * 1024
const CHUNK_BYTES = 1024 * 1024
const CHUNKS = MEMORY_BYTES / CHUNK_BYTES
const BUCKETS = 1 << 14
const WAYS = 4
/** The index: a float64 position and a uint32 hash per slot. */
export const INDEX_BYTES = BUCKETS * WAYS * 12
const HASHED_CHARS = 10
/** Payload texts above this are read the full way every time. */
const MAX_TEXT_CHARS = 16 * 1024
const ID_CHARS = 22
/**
 * A record read again within this many look-ups joins the hot ones. With Zipf's law over 10,000
 * users, the users re-read that soon make about 60 % of the requests (256 look-ups: about 40 %).
 */
const HOT_WITHIN = 2048
/**
 * Bytes the hot ones may take, estimated: their parsed data, about 7 times its text (26 KB for a
 * full 3.6 KB signed cookie), and HOT_ENTRY_BYTES each. Small enough for the GC not to feel it.
 */
const HOT_BYTES = 2 * 1024 * 1024
const HOT_ENTRY_BYTES = 300
const PARSED_BYTES_PER_CHAR = 7
/** Texts longer than this (inflated ones) are never kept parsed. */
const MAX_HOT_CHARS = 4096

interface Hot extends Omit<Decoded, 'data'> {
  value: string
  pristine: SessionRecord
}

// A record: a fixed header, then the value (latin1: every format's value is ASCII), the id
// (ASCII) and the payload text and, for formats whose canonical json differs from their text
// (flask), the json (UTF-8).
const VALUE_CHARS = 0 // u16: values are at most maxCookies × 4096 characters
// 2, 3: unused
const TEXT_BYTES = 4 // u32
const JSON_BYTES = 8 // u32, 0 when the json is the text itself
const FLAGS = 12 // u8
const ISSUED_AT = 16 // f64
const CREATED_AT = 24 // f64
const LAST_READ = 32 // f64: the look-up count at its last hit, -Infinity before the first
const HEADER_BYTES = 40
const PERMANENT = 1
const HAS_ID = 2

/** Where a value falls in the index, from its last characters; 0 when too short to be remembered. */
function tailHash (value: string): number {
  const end = value.length
  let hash = 0
  // Six bits a character: base64url characters differ in their low six bits but for a few
  // pairs, which only makes a few more values share a hash. Mixed so every character moves the bucket.
  for (let i = end - HASHED_CHARS; i < end; i++) hash = Math.imul(hash ^ (value.charCodeAt(i) & 63), 0x9e3779b1)
  return hash >>> 0
}

/** `codec` with a memory of verified values; values longer than `maxValueBytes` are never sent, so never kept. */
export function withVerifiedCache (codec: Codec, maxValueBytes: number): Codec {
  const chunks: Buffer[] = []
  // Allocated at the first record: an app that never reads a session keeps none of it.
  let positions: Float64Array | undefined
  let hashes: Uint32Array | undefined
  /** Bytes written since the start: a record at `position` is intact while position ≥ head - MEMORY_BYTES. */
  let head = 0

  /** Writes a record at the front; returns its position, or -1 when it is not kept. */
  function store (value: string, text: string, json: string, id: string | undefined, permanent: boolean,
    keyIndex: number, issuedAt: number, createdAt: number): number {
    const jsonApart = json !== text
    if (value.length > maxValueBytes || text.length > MAX_TEXT_CHARS || (jsonApart && json.length > MAX_TEXT_CHARS)) return -1
    // A value verified by a fallback secret is re-issued under the current one on this very
    // response, so it hardly comes back: not worth a record (and a record's key index is then 0).
    if (keyIndex !== 0 || (id !== undefined && id.length !== ID_CHARS)) return -1
    // Room for the worst case (3 UTF-8 bytes a UTF-16 unit); the unused part is written over next.
    const room = HEADER_BYTES + value.length + ID_CHARS + 3 * text.length + (jsonApart ? 3 * json.length : 0)
    const chunk = claim(room)
    let at = head % CHUNK_BYTES
    const start = at
    chunk.writeUInt16LE(value.length, at + VALUE_CHARS)
    chunk.writeUInt8((permanent ? PERMANENT : 0) | (id === undefined ? 0 : HAS_ID), at + FLAGS)
    chunk.writeDoubleLE(issuedAt, at + ISSUED_AT)
    chunk.writeDoubleLE(createdAt, at + CREATED_AT)
    chunk.writeDoubleLE(-Infinity, at + LAST_READ)
    at += HEADER_BYTES
    at += chunk.write(value, at, 'latin1')
    if (id !== undefined) at += chunk.write(id, at, 'latin1')
    // A verified text never holds a lone surrogate (it was decoded from UTF-8, or is JSON.stringify's
    // output, which escapes them), so UTF-8 gives it back exactly.
    const textBytes = chunk.write(text, at, 'utf8')
    chunk.writeUInt32LE(textBytes, start + TEXT_BYTES)
    at += textBytes
    const jsonBytes = jsonApart ? chunk.write(json, at, 'utf8') : 0
    chunk.writeUInt32LE(jsonBytes, start + JSON_BYTES)
    at += jsonBytes
    const position = head
    head += at - start
    return position
  }

  /** The chunk the next `room` bytes go to, moving the front to the next chunk when they do not fit. */
  function claim (room: number): Buffer {
    const within = head % CHUNK_BYTES
    if (within + room > CHUNK_BYTES) head += CHUNK_BYTES - within
    const index = Math.floor(head / CHUNK_BYTES) % CHUNKS
    return (chunks[index] ??= Buffer.alloc(CHUNK_BYTES))
  }

  /** Puts a new record in its bucket: a free or dead slot, else the oldest. */
  function index (hash: number, position: number): void {
    positions ??= new Float64Array(BUCKETS * WAYS).fill(-Infinity)
    hashes ??= new Uint32Array(BUCKETS * WAYS)
    const first = (hash & (BUCKETS - 1)) * WAYS
    let slot = first
    for (let way = first; way < first + WAYS; way++) {
      if ((positions[way] as number) < (positions[slot] as number)) slot = way
    }
    positions[slot] = position
    hashes[slot] = hash
  }

  function remember (value: string, decoded: Omit<Decoded, 'data'>, hash: number): void {
    const { text, json, id, permanent, keyIndex, issuedAt, createdAt } = decoded
    const position = store(value, text, json, id, permanent, keyIndex, issuedAt, createdAt)
    if (position >= 0) index(hash, position)
  }

  /**
   * The remembered decoding of `value`, or undefined. The hot few first, then the ring: a record
   * read a second time within HOT_WITHIN look-ups joins the hot ones, and one in the older half
   * of the ring is copied to its front.
   */
  function recall (value: string, hash: number): Decoded | undefined {
    const hot = hotGet(hash)
    if (hot !== undefined && hot.value === value) {
      const { pristine, json, text, issuedAt, createdAt, id, permanent, keyIndex } = hot
      return { data: codec.copyData(pristine), pristine, json, text, issuedAt, createdAt, id, permanent, keyIndex }
    }
    if (positions === undefined) return undefined
    const first = (hash & (BUCKETS - 1)) * WAYS
    for (let slot = first; slot < first + WAYS; slot++) {
      const position = positions[slot] as number
      if ((hashes as Uint32Array)[slot] !== hash || position < head - MEMORY_BYTES) continue
      const chunk = chunks[Math.floor(position / CHUNK_BYTES) % CHUNKS] as Buffer
      const start = position % CHUNK_BYTES
      if (chunk.readUInt16LE(start + VALUE_CHARS) !== value.length) continue
      let at = start + HEADER_BYTES
      // Compared as strings: exact for any character the request may carry.
      const stored = chunk.toString('latin1', at, at + value.length)
      if (stored !== value) continue
      at += value.length
      const flags = chunk.readUInt8(start + FLAGS)
      const textBytes = chunk.readUInt32LE(start + TEXT_BYTES)
      const jsonBytes = chunk.readUInt32LE(start + JSON_BYTES)
      // The id and the text in one string (the id is ASCII, so UTF-8 reads it as it is), then cut.
      const idChars = (flags & HAS_ID) === 0 ? 0 : ID_CHARS
      const both = chunk.toString('utf8', at, at + idChars + textBytes)
      const text = idChars === 0 ? both : both.slice(idChars)
      at += idChars + textBytes
      const found: Decoded = {
        data: codec.readData(text),
        json: jsonBytes === 0 ? text : chunk.toString('utf8', at, at + jsonBytes),
        text,
        issuedAt: chunk.readDoubleLE(start + ISSUED_AT),
        createdAt: chunk.readDoubleLE(start + CREATED_AT),
        id: idChars === 0 ? undefined : both.slice(0, idChars),
        permanent: (flags & PERMANENT) !== 0,
        keyIndex: 0
      }
      if (text.length <= MAX_HOT_CHARS && lookUps - chunk.readDoubleLE(start + LAST_READ) <= HOT_WITHIN) {
        // Parsed once more for the hot copy, never handed out: each request then gets a copy of it.
        const pristine = found.pristine = codec.readData(text)
        const { json, issuedAt, createdAt, id, permanent, keyIndex } = found
        hotSet(hash, { value: stored, pristine, json, text, issuedAt, createdAt, id, permanent, keyIndex })
      }
      chunk.writeDoubleLE(lookUps, start + LAST_READ)
      if (position < head - MEMORY_BYTES / 2) refresh(slot, position)
      return found
    }
    return undefined
  }

  /** Copies a record read in the older half of the ring to the front, so a cookie in use stays. */
  function refresh (slot: number, position: number): void {
    const source = chunks[Math.floor(position / CHUNK_BYTES) % CHUNKS] as Buffer
    const start = position % CHUNK_BYTES
    const bytes = HEADER_BYTES + source.readUInt16LE(start + VALUE_CHARS) +
      ((source.readUInt8(start + FLAGS) & HAS_ID) === 0 ? 0 : ID_CHARS) +
      source.readUInt32LE(start + TEXT_BYTES) + source.readUInt32LE(start + JSON_BYTES)
    // The front is at least half the ring ahead of the record; only when it moves into the very
    // chunk the record is in (the record then being the oldest) do the two overlap, which copy()
    // handles as memmove does.
    const target = claim(bytes)
    source.copy(target, head % CHUNK_BYTES, start, start + bytes)
    ;(positions as Float64Array)[slot] = head
    head += bytes
  }

  // The hot few, by hash: two generations of HOT_BYTES / 2, the newer replacing the older when full.
  let hotNewer = new Map<number, Hot>()
  let hotOlder = new Map<number, Hot>()
  let hotNewerBytes = 0
  let lookUps = 0
  function hotGet (hash: number): Hot | undefined {
    const recent = hotNewer.get(hash)
    if (recent !== undefined) return recent
    const kept = hotOlder.get(hash)
    if (kept !== undefined) hotSet(hash, kept)
    return kept
  }
  function hotSet (hash: number, hot: Hot): void {
    const bytes = HOT_ENTRY_BYTES + hot.value.length + hot.text.length * (1 + PARSED_BYTES_PER_CHAR)
    if (hotNewerBytes + bytes > HOT_BYTES / 2) {
      hotOlder = hotNewer
      hotNewer = new Map()
      hotNewerBytes = 0
    }
    hotNewer.set(hash, hot)
    hotNewerBytes += bytes
  }

  const { textFor } = codec
  return {
    encode (input: EncodeInput): string {
      const value = codec.encode(input)
      if (textFor !== undefined && value.length >= HASHED_CHARS) remember(value, { ...input, text: textFor(input), keyIndex: 0 }, tailHash(value))
      return value
    },
    readData: codec.readData,
    copyData: codec.copyData,
    decode (value: string): Decoded | InvalidReason {
      if (value.length < HASHED_CHARS) return codec.decode(value)
      lookUps++
      const hash = tailHash(value)
      const found = recall(value, hash)
      if (found !== undefined) return found
      const decoded = codec.decode(value)
      if (typeof decoded !== 'string') remember(value, decoded, hash)
      return decoded
    }
  }
}
