import t from 'tap'
import { randomBytesFromPool } from '../../plugin/random.js'

// The pooled CSPRNG behind session ids and IVs: every draw is fresh and independent.

t.test('draws are the asked size, never repeat, and survive many refills of the pool', async (t) => {
  const seen = new Set<string>()
  let wrongSize = 0
  for (let i = 0; i < 2000; i++) { // 2000 × 12-16 bytes: about eight 4 KiB refills
    const size = i % 2 === 0 ? 16 : 12
    const bytes = randomBytesFromPool(size)
    if (bytes.length !== size) wrongSize++
    seen.add(bytes.toString('hex'))
  }
  t.equal(wrongSize, 0)
  t.equal(seen.size, 2000, 'no two draws are equal')
})

t.test('a draw is its own copy: later draws and pool refills never change it', async (t) => {
  const first = randomBytesFromPool(16)
  const before = first.toString('hex')
  for (let i = 0; i < 600; i++) randomBytesFromPool(16) // two refills of the pool
  t.equal(first.toString('hex'), before)
})

t.test('bytes look uniform (a sanity check, not a randomness test)', async (t) => {
  const counts = new Array<number>(256).fill(0)
  for (let i = 0; i < 4096; i++) for (const byte of randomBytesFromPool(16)) counts[byte] = (counts[byte] ?? 0) + 1
  // 65536 bytes: 256 per value expected; a fixed or zeroed pool would put thousands in one bin.
  t.ok(Math.max(...counts) < 400, `most frequent byte value seen ${Math.max(...counts)} times`)
  t.ok(Math.min(...counts) > 140, `least frequent byte value seen ${Math.min(...counts)} times`)
})
