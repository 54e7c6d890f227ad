import * as base64url from '../codecs/base64url.js'
import type { InvalidReason } from '../codecs/codec.js'
import {
  additionalData, ENCRYPTED_KEY_PURPOSE, encryptedValue, isSealedLength, IV_BYTES, parseEncrypted, parsePlaintextHeader,
  plaintextHeader
} from '../codecs/encrypted-format.js'
import { dumpSession, FLASK_SALT, parseFlask, parsePayload, refuseLongIntegers, timestampText } from '../codecs/flask-tags.js'
import { equalInConstantTime } from '../codecs/compare.js'
import { MAC_CHARS, macInput, parseSigned, signedText, SIGNED_AMAC_KEY_PURPOSE, SIGNED_KEY_PURPOSE } from '../codecs/signed-format.js'
import { parse, serialize, type SessionRecord } from '../codecs/values-format.js'
import { deflateIfShorter, inflate, type DeflateFormat } from './compression.js'
import type { Format } from './options.js'
import { concat, fromUtf8, own, randomBytes, utf8, WEB_VALUES } from './platform.js'

// The three formats on Web Crypto. Their layouts are the shared ones (signed-format.ts,
// encrypted-format.ts, flask-tags.ts, values-format.ts); only the crypto and compression calls
// are this platform's. Keys are derived and imported once per codec, on first use: the promises
// are kept, so every later call awaits an already settled one.

/** HKDF salt of every derived key, as plugin/keys.ts's deriveKey uses it. */
const HKDF_SALT = 'fastify-cookie-session'

/** What a format's decode found; times and limits are checked by the caller. */
export interface WebDecoded {
  data: SessionRecord
  issuedAt: number
  createdAt: number
  /** Left out by flask, whose cookies carry none. */
  id?: string
  permanent: boolean
  /** Index of the secret that verified it: 0 is current. */
  keyIndex: number
}

/** What a format's encode is given. */
export interface WebEncodeInput {
  data: SessionRecord
  /** serialize(data), already computed by the caller. */
  json: string
  issuedAt: number
  createdAt: number
  id: string
  permanent: boolean
}

/** The caller's time limits: why a verified cookie's times make it invalid, or undefined when they are fine. */
export type TimeCheck = (issuedAt: number, createdAt: number) => InvalidReason | undefined

export interface WebFormat {
  encode (input: WebEncodeInput): Promise<string>
  /**
   * Never rejects for a bad value (it says why instead); rejects only with
   * FST_SESSION_NO_DECOMPRESSION. `times` is asked once the cookie verified, before its payload is
   * read: an expired or future cookie costs no inflating, and reads as expired even where the
   * runtime could not inflate it.
   */
  decode (value: string, times: TimeCheck): Promise<WebDecoded | InvalidReason>
}

/** The 32-byte key HKDF-SHA256 derives from `secret` for `purpose`, as plugin/keys.ts's deriveKey. */
export async function deriveKey (secret: Uint8Array, purpose: string): Promise<ArrayBuffer> {
  const base = await crypto.subtle.importKey('raw', own(secret), 'HKDF', false, ['deriveBits'])
  return crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: utf8(HKDF_SALT), info: utf8(purpose) }, base, 256)
}

function hmacKey (raw: BufferSource, hash: 'SHA-256' | 'SHA-1'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign', 'verify'])
}

/** `create`'s result, made on the first call and shared by all later ones. */
function once<T> (create: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined
  return () => (made ??= create())
}

/** The index of the first key `verifies` accepts, or -1. */
async function firstVerifying (keys: CryptoKey[], verifies: (key: CryptoKey) => Promise<boolean>): Promise<number> {
  for (let index = 0; index < keys.length; index++) {
    if (await verifies(keys[index] as CryptoKey)) return index
  }
  return -1
}

/**
 * Verified payload bytes → the session data, as the Node codecs read them: inflated within the
 * bound, strict UTF-8, parsed without reaching a prototype, and serialisable again (what could
 * never be saved, e.g. nested too deep, is refused now instead of failing at the next write).
 * undefined for a bad payload.
 */
async function readPayload (bytes: Uint8Array, deflated: DeflateFormat | false): Promise<SessionRecord | undefined> {
  const inflated = deflated === false ? bytes : await inflate(bytes, deflated)
  if (inflated === undefined) return undefined
  try {
    const data = parse(fromUtf8(inflated), WEB_VALUES)
    serialize(data, WEB_VALUES)
    return data
  } catch {
    return undefined
  }
}

/** The s3 MAC (signed-format.ts): the first MAC_CHARS base64url characters of SHA-384(key ‖ message). */
async function amacSha384 (key: Uint8Array, message: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-384', concat(key, utf8(message)))
  return base64url.encode(new Uint8Array(digest)).slice(0, MAC_CHARS)
}

function signedFormat (secrets: Uint8Array[], cookieName: string, compress: boolean): WebFormat {
  const keys = once(() => Promise.all(secrets.map(async (secret) => new Uint8Array(await deriveKey(secret, SIGNED_AMAC_KEY_PURPOSE)))))
  // s1 and s2 cookies (HMAC-SHA256) are still read.
  const hmacKeys = once(() => Promise.all(secrets.map(async (secret) => hmacKey(await deriveKey(secret, SIGNED_KEY_PURPOSE), 'SHA-256'))))
  /** The index of the secret whose key verifies `parts`' MAC, or -1. */
  async function verifying (parts: NonNullable<ReturnType<typeof parseSigned>>): Promise<number> {
    const message = macInput(cookieName, parts.signedText)
    if (parts.version === 3) {
      const all = await keys()
      for (let index = 0; index < all.length; index++) {
        if (equalInConstantTime(await amacSha384(all[index] as Uint8Array, message), parts.mac)) return index
      }
      return -1
    }
    // The Node codec compares the MAC's text: another spelling of the same bytes is unequal.
    const mac = base64url.decode(parts.mac)
    if (mac === undefined) return -1
    return firstVerifying(await hmacKeys(), (key) => crypto.subtle.verify('HMAC', key, own(mac), utf8(message)))
  }
  return {
    async encode ({ json, issuedAt, createdAt, id, permanent }) {
      const bytes = utf8(json)
      const deflated = compress ? await deflateIfShorter(bytes, 'deflate-raw') : undefined
      const text = signedText({ payload: base64url.encode(deflated ?? bytes), deflated: deflated !== undefined, issuedAt, createdAt, id, permanent })
      const [key] = await keys()
      return `${text}.${await amacSha384(key as Uint8Array, macInput(cookieName, text))}`
    },

    async decode (value, times) {
      const parts = parseSigned(value)
      if (parts === undefined) return 'malformed'
      const keyIndex = await verifying(parts)
      if (keyIndex === -1) return 'bad-signature'
      const refused = times(parts.issuedAt, parts.createdAt)
      if (refused !== undefined) return refused
      const data = await readPayload(base64url.decodeLenient(parts.payload), parts.deflated && 'deflate-raw')
      if (data === undefined) return 'bad-payload'
      const { issuedAt, createdAt, id, permanent } = parts
      return { data, issuedAt, createdAt, id, permanent, keyIndex }
    }
  }
}

function encryptedFormat (secrets: Uint8Array[], cookieName: string, compress: boolean): WebFormat {
  const keys = once(() => Promise.all(secrets.map(async (secret) =>
    crypto.subtle.importKey('raw', await deriveKey(secret, ENCRYPTED_KEY_PURPOSE), 'AES-GCM', false, ['encrypt', 'decrypt']))))
  const gcm = (iv: Uint8Array<ArrayBuffer>, version: string): AesGcmParams =>
    ({ name: 'AES-GCM', iv, additionalData: utf8(additionalData(version, cookieName)), tagLength: 128 })

  /** The plaintext, or undefined when this key did not produce this cookie. */
  async function open (key: CryptoKey, params: AesGcmParams, sealed: Uint8Array<ArrayBuffer>): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await crypto.subtle.decrypt(params, key, sealed))
    } catch {
      return undefined
    }
  }

  return {
    async encode ({ json, issuedAt, createdAt, id, permanent }) {
      const bytes = utf8(json)
      const deflated = compress ? await deflateIfShorter(bytes, 'deflate-raw') : undefined
      const header = utf8(plaintextHeader({ issuedAt, createdAt, id, permanent, deflated: deflated !== undefined }))
      const iv = randomBytes(IV_BYTES)
      const [key] = await keys()
      const sealed = await crypto.subtle.encrypt(gcm(iv, 'e2'), key as CryptoKey, concat(header, deflated ?? bytes))
      return encryptedValue(base64url.encode(concat(iv, new Uint8Array(sealed))))
    },

    async decode (value, times) {
      const parts = parseEncrypted(value)
      if (parts === undefined) return 'malformed'
      const bytes = base64url.decode(parts.sealed)
      if (bytes === undefined || !isSealedLength(bytes.length)) return 'malformed'
      // Web Crypto takes the 16-byte tag at the end of what it opens, and the tag length is fixed
      // by tagLength: a shorter tag cannot be passed off.
      const params = gcm(bytes.slice(0, IV_BYTES), parts.version)
      const sealed = bytes.slice(IV_BYTES)
      const all = await keys()
      let plaintext: Uint8Array | undefined
      let keyIndex = 0
      for (; keyIndex < all.length; keyIndex++) {
        plaintext = await open(all[keyIndex] as CryptoKey, params, sealed)
        if (plaintext !== undefined) break
      }
      if (plaintext === undefined) return 'bad-signature'
      const header = parsePlaintextHeader(parts.version, plaintext)
      if (header === undefined) return 'bad-payload'
      const refused = times(header.issuedAt, header.createdAt)
      if (refused !== undefined) return refused
      const data = await readPayload(plaintext.subarray(header.bodyStart), header.deflated && 'deflate-raw')
      if (data === undefined) return 'bad-payload'
      const { issuedAt, createdAt, id, permanent } = header
      return { data, issuedAt, createdAt, id, permanent, keyIndex }
    }
  }
}

function flaskFormat (secrets: Uint8Array[], compress: boolean): WebFormat {
  // itsdangerous' "hmac" key derivation: the signing key is HMAC-SHA1(SECRET_KEY, salt).
  const keys = once(() => Promise.all(secrets.map(async (secret) =>
    hmacKey(await crypto.subtle.sign('HMAC', await hmacKey(own(secret), 'SHA-1'), utf8(FLASK_SALT)), 'SHA-1'))))
  return {
    async encode ({ data, issuedAt, permanent }) {
      const json = utf8(dumpSession(data, permanent, WEB_VALUES)) // pure ASCII
      const compressed = compress ? await deflateIfShorter(json, 'deflate', 1) : undefined
      const payload = compressed === undefined ? base64url.encode(json) : `.${base64url.encode(compressed)}`
      const text = `${payload}.${timestampText(issuedAt)}`
      const [key] = await keys()
      return `${text}.${base64url.encode(new Uint8Array(await crypto.subtle.sign('HMAC', key as CryptoKey, utf8(text))))}`
    },

    async decode (value, times) {
      const parts = parseFlask(value)
      if (parts === undefined) return 'malformed'
      const signature = base64url.decode(parts.signature)
      if (signature === undefined) return 'bad-signature'
      const message = utf8(parts.signedText)
      const keyIndex = await firstVerifying(await keys(), (key) => crypto.subtle.verify('HMAC', key, own(signature), message))
      if (keyIndex === -1) return 'bad-signature'
      const refused = times(parts.issuedAt, parts.issuedAt)
      if (refused !== undefined) return refused

      const payload = base64url.decodeLenient(parts.payload)
      const inflated = parts.compressed ? await inflate(payload, 'deflate') : payload
      if (inflated === undefined) return 'bad-payload'
      let data: SessionRecord
      let permanent: boolean
      try {
        const text = fromUtf8(inflated)
        refuseLongIntegers(text)
        data = parsePayload(text, WEB_VALUES)
        // Flask's flag is a key of the session; here it is `permanent`.
        permanent = data._permanent === true
        delete data._permanent
        serialize(data, WEB_VALUES) // refuses what could never be saved again (too deep)
      } catch {
        return 'bad-payload'
      }
      return { data, issuedAt: parts.issuedAt, createdAt: parts.issuedAt, permanent, keyIndex }
    }
  }
}

/** The format's codec over its secrets (current first). */
export function createFormat (format: Format, secrets: Uint8Array[], cookieName: string, compress: boolean): WebFormat {
  switch (format) {
    case 'signed': return signedFormat(secrets, cookieName, compress)
    case 'encrypted': return encryptedFormat(secrets, cookieName, compress)
    default: return flaskFormat(secrets, compress)
  }
}
