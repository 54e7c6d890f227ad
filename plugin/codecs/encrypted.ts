import { createCipheriv, createDecipheriv } from 'node:crypto'
import { deriveKey } from '../keys.js'
import { randomBytesFromPool } from '../random.js'
import { canonicalText, cloneParsed, parse } from '../values.js'
import type { Codec, Decoded, EncodeInput, InvalidReason } from './codec.js'
import { deflateIfShorter, inflate } from './compression.js'
import {
  additionalData, ENCRYPTED_KEY_PURPOSE, encryptedValue, isSealedLength, IV_BYTES, parseEncrypted, parsePlaintextHeader,
  plaintextHeader, TAG_BYTES
} from './encrypted-format.js'
import * as base64url from './node-base64url.js'

// The private format, on node:crypto (no native add-on to build): the client can neither read
// nor change the session. Its layout is in encrypted-format.ts. The key is derived from the
// secret with a purpose of its own (keys.ts), so it never equals the signing key of the same secret.

const ALGORITHM = 'aes-256-gcm'
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export interface EncryptedCodecOptions {
  /**
   * Deflate payloads when that makes the cookie shorter. Default false: compressing secrets
   * beside data an attacker influences leaks them through the cookie's length (CRIME, BREACH).
   */
  compress?: boolean
}

export function createEncryptedCodec (secrets: Buffer[], cookieName: string, { compress = false }: EncryptedCodecOptions = {}): Codec {
  const keys = secrets.map((secret) => deriveKey(secret, ENCRYPTED_KEY_PURPOSE))
  const encryptionKey = keys[0] as Buffer
  const aads = new Map(['e1', 'e2'].map((version) => [version, Buffer.from(additionalData(version, cookieName), 'utf8')]))

  /** The plaintext, or undefined when this key did not produce this cookie. */
  function open (key: Buffer, aad: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer): Buffer | undefined {
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(aad)
      decipher.setAuthTag(tag)
      const plaintext = decipher.update(ciphertext)
      decipher.final() // throws unless the tag verifies; GCM has no bytes left to give
      return plaintext
    } catch {
      return undefined
    }
  }

  return {
    encode ({ json, issuedAt, createdAt, id, permanent }: EncodeInput): string {
      const deflated = compress ? deflateIfShorter(Buffer.from(json, 'utf8'), true) : undefined
      const header = plaintextHeader({ issuedAt, createdAt, id, permanent, deflated: deflated !== undefined })
      const iv = randomBytesFromPool(IV_BYTES)
      const cipher = createCipheriv(ALGORITHM, encryptionKey, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(aads.get('e2') as Buffer)
      // One update for the usual, uncompressed plaintext: each call into the cipher costs a few
      // thousand instructions, and the header is ASCII, so header + JSON is one UTF-8 text.
      const body = deflated === undefined ? cipher.update(header + json, 'utf8') : Buffer.concat([cipher.update(header, 'latin1'), cipher.update(deflated)])
      const sealed = Buffer.concat([iv, body, cipher.final(), cipher.getAuthTag()])
      return encryptedValue(base64url.encode(sealed))
    },

    readData: parse,
    copyData: cloneParsed,
    // decode's text is serialize(parse(json)): the json itself, since serialize's output parses back to the same text.
    textFor: ({ json }) => json,

    decode (value: string): Decoded | InvalidReason {
      const parts = parseEncrypted(value)
      if (parts === undefined) return 'malformed'
      // Canonical base64url only: Buffer skips junk and ignores unused bits, so the bytes must
      // spell the very text again (one spelling per cookie, as base64url.ts requires).
      const bytes = Buffer.from(parts.sealed, 'base64url')
      if (!isSealedLength(bytes.length) || bytes.toString('base64url') !== parts.sealed) return 'malformed'

      const aad = aads.get(parts.version) as Buffer
      const iv = bytes.subarray(0, IV_BYTES)
      const ciphertext = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)
      const tag = bytes.subarray(bytes.length - TAG_BYTES)
      let plaintext: Buffer | undefined
      let keyIndex = 0
      for (; keyIndex < keys.length; keyIndex++) {
        plaintext = open(keys[keyIndex] as Buffer, aad, iv, ciphertext, tag)
        if (plaintext !== undefined) break
      }
      if (plaintext === undefined) return 'bad-signature'

      const header = parsePlaintextHeader(parts.version, plaintext)
      if (header === undefined) return 'bad-payload'
      try {
        const body = plaintext.subarray(header.bodyStart)
        const text = utf8.decode(header.deflated ? inflate(body, true) : body)
        const data = parse(text)
        const json = canonicalText(text, data) // refuses what could never be saved again
        const { issuedAt, createdAt, id, permanent } = header
        return { data, json, text: json, issuedAt, createdAt, id, permanent, keyIndex }
      } catch {
        return 'bad-payload'
      }
    }
  }
}
