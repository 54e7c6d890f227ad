import { deflateRawSync, deflateSync, inflateRawSync, inflateSync } from 'node:zlib'
import { COMPRESS_FROM_BYTES, MAX_INFLATED_BYTES } from './codec.js'

// DEFLATE for the Node codecs, bounded the same way for every format. `raw` is RFC 1951 alone
// (signed, encrypted); otherwise the zlib wrapper of RFC 1950, which Flask (itsdangerous) writes.

/**
 * `bytes` deflated, or undefined when that is not worth it: under COMPRESS_FROM_BYTES, or not
 * shorter once `overhead` (what marking the payload as deflated costs, e.g. Flask's leading '.')
 * is added.
 */
export function deflateIfShorter (bytes: Buffer, raw: boolean, overhead = 0): Buffer | undefined {
  if (bytes.length < COMPRESS_FROM_BYTES) return undefined
  const deflated = raw ? deflateRawSync(bytes) : deflateSync(bytes)
  return deflated.length + overhead < bytes.length ? deflated : undefined
}

/**
 * The inflated bytes; throws past MAX_INFLATED_BYTES. zlib checks `maxOutputLength` after each
 * 16 KiB chunk it writes, so a bomb stops there instead of being inflated whole and then measured.
 */
export function inflate (bytes: Buffer, raw: boolean): Buffer {
  const options = { maxOutputLength: MAX_INFLATED_BYTES }
  return raw ? inflateRawSync(bytes, options) : inflateSync(bytes, options)
}
