import createError, { type FastifyErrorConstructor } from '@fastify/error'

// Every error the plugin throws has a stable `code` so applications can branch on it
// without parsing messages. The message templates take `%s` arguments (see @fastify/error).
//
// Each export is annotated with the named FastifyErrorConstructor type: left to inference, the
// shipped .d.ts would name `createError.FastifyErrorConstructor`, a namespace that a default
// import of @fastify/error does not carry under `moduleResolution: bundler` (TS2503, or error
// classes silently untyped with skipLibCheck).

/** The class of one of the plugin's errors: `new`-able or callable, with its literal code. */
type SessionErrorClass<Code extends string, Args extends unknown[]> = FastifyErrorConstructor<{ code: Code, statusCode: 500 }, Args>

/** A plugin option is missing or wrong; thrown by `register`, the message says what to change. */
export const FST_SESSION_INVALID_OPTION: SessionErrorClass<'FST_SESSION_INVALID_OPTION', [string]> = createError(
  'FST_SESSION_INVALID_OPTION',
  'fastify-cookie-session: %s',
  500,
  TypeError
)

/** A value that cannot be stored in a cookie (function, symbol, BigInt, circular, class instance…). */
export const FST_SESSION_UNSTORABLE_VALUE: SessionErrorClass<'FST_SESSION_UNSTORABLE_VALUE', [string]> = createError(
  'FST_SESSION_UNSTORABLE_VALUE',
  'Session value cannot be stored: %s',
  500,
  TypeError
)

/** A key that cannot be used with property syntax (a method name) or at all (`__proto__`). */
export const FST_SESSION_INVALID_KEY: SessionErrorClass<'FST_SESSION_INVALID_KEY', [string]> = createError(
  'FST_SESSION_INVALID_KEY',
  'Invalid session key: %s',
  500,
  TypeError
)

/**
 * The encoded session would not fit in the cookies it may use (maxCookies × 4096 bytes); nothing
 * is sent and the old cookie stays. The message lists the largest top-level keys.
 */
export const FST_SESSION_TOO_LARGE: SessionErrorClass<'FST_SESSION_TOO_LARGE', [string]> = createError(
  'FST_SESSION_TOO_LARGE',
  'Session too large for its cookie: %s',
  500,
  RangeError
)

/**
 * The session was written after the response's session cookie was already decided (in an onSend
 * hook that runs after this plugin's, or after the reply was sent): the write would be lost.
 */
export const FST_SESSION_ALREADY_SAVED: SessionErrorClass<'FST_SESSION_ALREADY_SAVED', [string]> = createError(
  'FST_SESSION_ALREADY_SAVED',
  'The session was already saved for this response, so %s would be lost: change the session in the ' +
  'handler or in a hook before onSend (preHandler, preSerialization), or in an onSend hook registered before fastify-cookie-session',
  500,
  Error
)

/** The plugin was registered twice in one encapsulation context (or in a child of one that has it). */
export const FST_SESSION_ALREADY_REGISTERED: SessionErrorClass<'FST_SESSION_ALREADY_REGISTERED', []> = createError(
  'FST_SESSION_ALREADY_REGISTERED',
  'fastify-cookie-session is already registered in this context (request.session exists): register it once per ' +
  'encapsulation tree, or in sibling contexts with different cookie names',
  500,
  Error
)
