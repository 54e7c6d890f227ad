import createError from '@fastify/error'

// Every error the plugin throws has a stable `code` so applications can branch on it
// without parsing messages. The message templates take `%s` arguments (see @fastify/error).

/** A plugin option is missing or wrong; thrown by `register`, the message says what to change. */
export const FST_SESSION_INVALID_OPTION = createError<'FST_SESSION_INVALID_OPTION', 500, [string]>(
  'FST_SESSION_INVALID_OPTION',
  'fastify-cookie-session: %s',
  500,
  TypeError
)

/** A value that cannot be stored in a cookie (function, symbol, BigInt, circular, class instance…). */
export const FST_SESSION_UNSTORABLE_VALUE = createError<'FST_SESSION_UNSTORABLE_VALUE', 500, [string]>(
  'FST_SESSION_UNSTORABLE_VALUE',
  'Session value cannot be stored: %s',
  500,
  TypeError
)

/** A key that cannot be used with property syntax (a method name) or at all (`__proto__`). */
export const FST_SESSION_INVALID_KEY = createError<'FST_SESSION_INVALID_KEY', 500, [string]>(
  'FST_SESSION_INVALID_KEY',
  'Invalid session key: %s',
  500,
  TypeError
)

/** The encoded session would not fit in a browser cookie; nothing is sent, the old cookie stays. */
export const FST_SESSION_TOO_LARGE = createError<'FST_SESSION_TOO_LARGE', 500, [string, number, number]>(
  'FST_SESSION_TOO_LARGE',
  'Session cookie "%s" would be %s bytes, over the %s-byte browser limit; store less in the session',
  500,
  RangeError
)
