import { randomFillSync } from 'node:crypto'

// Random bytes for session ids and encryption IVs, drawn from the CSPRNG in 4 KiB batches.
// A randomBytes() call per request costs about as much as the HMAC itself (the call into
// OpenSSL, not the bytes); batching makes it a copy. Node's crypto.randomUUID() batches the
// same way. Each byte is handed out once, so ids and IVs stay independent and unpredictable.

const POOL_BYTES = 4096
const pool = Buffer.alloc(POOL_BYTES)
let offset = POOL_BYTES

/** `size` fresh random bytes (at most 4096), in a buffer of their own. */
export function randomBytesFromPool (size: number): Buffer {
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size))
  pool.fill(0, offset, offset + size) // handed out: no copy of it stays in the pool
  offset += size
  return bytes
}
