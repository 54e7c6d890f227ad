import { parse } from '../values.js'
import type { Codec, Decoded, InvalidReason } from './codec.js'

// A browser sends the same cookie on every request until the session changes. Verifying a MAC
// or decrypting costs far more than a map lookup (createHmac alone is most of a signed read), so
// cookies that already verified are remembered by their exact text, and a repeat skips the
// crypto and the base64/UTF-8 decoding.
//
// Why this is safe:
// - only a value that fully verified is ever stored, and only the identical text hits: the cache
//   cannot make a forged or altered cookie pass;
// - time limits are not cached: persistence checks issuedAt/createdAt on every request;
// - each plugin registration has its own codec and cache, so a key change starts empty;
// - bounded: at most LIMIT entries (oldest dropped first), each a value under 4096 bytes.
// Only for codecs whose `json` fully describes the data (signed, encrypted); the flask codec
// keeps Flask type marks (tuples, UUIDs) beside the data that JSON text would lose.

const LIMIT = 512

type Verified = Omit<Decoded, 'data'>

export function withVerifiedCache (codec: Codec): Codec {
  const verified = new Map<string, Verified>()
  return {
    encode: codec.encode,
    decode (value: string): Decoded | InvalidReason {
      const hit = verified.get(value)
      // A fresh parse per request: the handler gets its own objects to change.
      if (hit !== undefined) return { ...hit, data: parse(hit.json) }
      const decoded = codec.decode(value)
      if (typeof decoded === 'string') return decoded
      if (verified.size >= LIMIT) verified.delete(verified.keys().next().value as string)
      const { data, ...verifiedPart } = decoded
      verified.set(value, verifiedPart)
      return decoded
    }
  }
}
