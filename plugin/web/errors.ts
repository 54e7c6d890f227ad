// The errors the Web codec throws. The Node entry's come from @fastify/error, which needs
// node:util and node:http; these are plain Errors with the same `code` and message, so code that
// branches on `error.code` works with either entry point.

/** The `code` of each error the Web codec throws. */
export type SessionCodecErrorCode =
  /** An option is missing or wrong: thrown by `createSessionCodec`, the message says what to change. */
  | 'FST_SESSION_INVALID_OPTION'
  /** `encode` was given a value that cannot be stored (function, symbol, BigInt, circular, class instance…). */
  | 'FST_SESSION_UNSTORABLE_VALUE'
  /** `encode`'s value needs more than `maxCookies` cookies of 4096 bytes; the message lists the largest keys. */
  | 'FST_SESSION_TOO_LARGE'
  /**
   * A genuine (verified) cookie holds a compressed payload, and this runtime has no
   * DecompressionStream to inflate it (e.g. @edge-runtime/vm, where `next dev` runs middleware).
   */
  | 'FST_SESSION_NO_DECOMPRESSION'

/** An error of the Web codec: branch on its `code`, as with the plugin's FST_SESSION_* errors. */
export class SessionCodecError extends Error {
  /** Which error this is (stable; the message is for people). */
  readonly code: SessionCodecErrorCode

  /** An error with the given code and message. */
  constructor (code: SessionCodecErrorCode, message: string) {
    super(message)
    this.name = 'SessionCodecError'
    this.code = code
  }
}

/** A wrong option, worded as the plugin words it. */
export function invalidOption (message: string): SessionCodecError {
  return new SessionCodecError('FST_SESSION_INVALID_OPTION', `fastify-cookie-session: ${message}`)
}
