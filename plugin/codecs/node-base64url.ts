// The Node codecs' base64url: Buffer's native conversion. Reading is each codec's own (a MAC or
// tag vouches for the text, or the bytes are spelled again to check it: encrypted.ts).

export function encode (bytes: Buffer): string {
  return bytes.toString('base64url')
}
