import { COMPRESS_FROM_BYTES, MAX_INFLATED_BYTES } from '../codecs/codec.js'
import { SessionCodecError } from './errors.js'
import { concat } from './platform.js'

// DEFLATE for the Web codec through CompressionStream and DecompressionStream, under the same
// rules as the Node codecs' compression.ts: deflated only from COMPRESS_FROM_BYTES on and only
// when shorter; inflated output bounded at MAX_INFLATED_BYTES (256 KiB), checked while inflating.
// 'deflate-raw' is RFC 1951 alone (s2, e2); 'deflate' has the zlib wrapper (RFC 1950, Flask's).
//
// Runtimes hand over what one input chunk inflates to in one piece (Deno: all of it at once), so
// the input goes in in small slices: deflate expands at most 1032:1, which caps one piece at about
// 512 KiB for 512-byte slices, and reading stops at the first piece past the bound.
//
// A runtime without the streams (@edge-runtime/vm, where `next dev` runs middleware): encoding
// writes the payload uncompressed (always valid: compression is optional in every format), and
// inflating a verified compressed payload throws FST_SESSION_NO_DECOMPRESSION (see docs/edge.md).

/** 'deflate-raw' for s2/e2, 'deflate' (zlib-wrapped) for flask. */
export type DeflateFormat = 'deflate-raw' | 'deflate'

/** Input slice fed to DecompressionStream at a time. */
export const SLICE_BYTES = 512

/** Whether this runtime can inflate (has DecompressionStream). */
export function canInflate (): boolean {
  return typeof DecompressionStream === 'function'
}

/** `bytes` as a stream of `size`-byte chunks, each a copy (a runtime may take ownership of what it is given). */
function sliced (bytes: Uint8Array, size: number): ReadableStream<Uint8Array<ArrayBuffer>> {
  let offset = 0
  return new ReadableStream({
    pull (controller) {
      if (offset >= bytes.length) {
        controller.close()
        return
      }
      controller.enqueue(bytes.slice(offset, offset + size))
      offset += size
    }
  })
}

/**
 * Everything `stream` gives, or undefined once more than `limit` bytes came out (reading then
 * stops and the stream is cancelled) or when it fails.
 */
async function readUpTo (stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | undefined> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let produced = 0
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      produced += next.value.length
      if (produced > limit) {
        reader.cancel().catch(() => {})
        return undefined
      }
      chunks.push(next.value)
    }
  } catch {
    return undefined // not deflate data, truncated, trailing bytes: each runtime words it differently
  }
  return concat(...chunks)
}

/**
 * `bytes` deflated, or undefined when that is not worth it: under COMPRESS_FROM_BYTES, not
 * shorter once `overhead` (what marking the payload as deflated costs, e.g. Flask's leading '.')
 * is added, or no CompressionStream in this runtime.
 */
export async function deflateIfShorter (bytes: Uint8Array, format: DeflateFormat, overhead = 0): Promise<Uint8Array | undefined> {
  if (bytes.length < COMPRESS_FROM_BYTES || typeof CompressionStream !== 'function') return undefined
  const deflated = await readUpTo(sliced(bytes, bytes.length).pipeThrough(new CompressionStream(format)), Infinity) as Uint8Array
  return deflated.length + overhead < bytes.length ? deflated : undefined
}

/**
 * The inflated bytes, or undefined when they are not valid `format` data or would pass
 * MAX_INFLATED_BYTES. Throws FST_SESSION_NO_DECOMPRESSION when the runtime has no DecompressionStream.
 */
export async function inflate (bytes: Uint8Array, format: DeflateFormat): Promise<Uint8Array | undefined> {
  if (!canInflate()) {
    throw new SessionCodecError('FST_SESSION_NO_DECOMPRESSION', 'this cookie\'s payload is compressed, and this runtime has no ' +
      'DecompressionStream to inflate it (e.g. @edge-runtime/vm, which `next dev` runs middleware in): set `compress: false` ' +
      'in the Fastify app that writes the cookie, or read it in a runtime that has DecompressionStream')
  }
  return readUpTo(sliced(bytes, SLICE_BYTES).pipeThrough(new DecompressionStream(format)), MAX_INFLATED_BYTES)
}
