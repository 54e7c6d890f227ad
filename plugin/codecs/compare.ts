// Comparing a MAC an attacker sent with the one we computed. Platform-neutral.

/**
 * Whether two strings are equal, in a time that depends on their length only: every character
 * is looked at, whatever differs first, so the time says nothing about how much of a forged MAC
 * was right. (Lengths are public: a MAC has a fixed length, checked by the format's shape.)
 */
export function equalInConstantTime (a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}

/**
 * The index of the first MAC function whose MAC of `text` is `mac` (compared in constant time),
 * or -1: which of the rotated keys, current first, signed a value.
 */
export function verifyingKey (macs: ReadonlyArray<(text: string) => string>, text: string, mac: string): number {
  for (let index = 0; index < macs.length; index++) {
    if (equalInConstantTime((macs[index] as (text: string) => string)(text), mac)) return index
  }
  return -1
}
