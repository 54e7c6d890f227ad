// Strict base64url: the unpadded URL-safe alphabet, and only the one canonical spelling of each
// byte string. Node's own decoder skips junk, accepts padding and '+/', and ignores unused
// trailing bits, which would let many different cookie texts carry the same bytes.

export function encode (bytes: Buffer): string {
  return bytes.toString('base64url')
}

/** The decoded bytes, or undefined when `text` is not canonical unpadded base64url. */
export function decode (text: string): Buffer | undefined {
  if (text.length % 4 === 1) return undefined
  const bytes = Buffer.from(text, 'base64url')
  // Re-encoding is the whole check: it differs from `text` whenever Node skipped a character
  // (junk, whitespace, '=', '+', '/') or ignored non-zero trailing bits ('QR' and 'QQ' both
  // decode to 'A').
  return bytes.toString('base64url') === text ? bytes : undefined
}
