import { connect } from 'node:net'
import t from 'tap'
import { pinClock } from '../helpers.js'
import { EMPTY, FORMATS, forge, harness, NOW, read } from './harness.js'

// Raw Cookie header oddities, first through inject, then byte for byte over a real socket, where
// Node's own HTTP parser sees them: never a 5xx, never a cookie set, and the server stays up.

const ODD_HEADERS = [
  undefined, '', ' ', ';', ';;;=;=', '=', '==', 'session', 'session;', 'session=', 'session=;', 'session= ',
  'session;x=1', '=session', 'session=""', 'session="', 'session=%', 'session=%%', 'session=%E0%A4%A', 'session=%zz',
  'session=%00', 'session=%FF%FE', 'session=\\', 'session=,', 'a=1,session=2', 'session=a; session', ';session=;',
  'session=\u0000', 'session=a\u0001b', 'session=\u00ff\u0080', 'session=\u001b[0m', 'se\u0000ssion=x'
]

for (const format of FORMATS) {
  t.test(`${format}: odd Cookie headers give an empty session`, async (t) => {
    const h = await harness(t, format)
    for (const header of ODD_HEADERS) t.same(await read(h.app, header), EMPTY, JSON.stringify(header))
    t.ok(h.reasons.every((r) => r === 'malformed'), `only malformed values reached the codec: ${h.reasons.join(', ')}`)
  })
}

/** Sends raw bytes, returns the status code (0 when the server closed without answering). */
function rawRequest (port: number, head: Buffer): Promise<{ status: number, text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET' ? socket.destroy() : reject(error))
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text })
    })
    socket.end(head)
  })
}

const request = (cookie: Buffer) => Buffer.concat([
  Buffer.from('GET /read HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: ', 'latin1'),
  cookie,
  Buffer.from('\r\n\r\n', 'latin1')
])

t.test('bytes Node\'s HTTP parser sees: NUL, controls, 8-bit, and a header over its limit', async (t) => {
  pinClock(t, NOW)
  for (const format of FORMATS) {
    const h = await harness(t, format)
    await h.app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = h.app.server.address() as { port: number }
    const valid = forge(format, '{"a":1}')
    const latin1 = (text: string) => Buffer.from(text, 'latin1')

    const cases: Array<[string, Buffer]> = [
      ['NUL in the value', latin1(`session=${valid.slice(0, 10)}\u0000${valid.slice(10)}`)],
      ['NUL alone', latin1('session=\u0000')],
      ['a control character', latin1(`session=${valid}\u0001`)],
      ['ESC', latin1(`session=\u001b[31m${valid}`)],
      ['DEL', latin1(`session=${valid}\u007f`)],
      ['a bare CR', latin1(`session=${valid}\rX`)],
      ['a tab inside', latin1(`session=${valid.slice(0, 5)}\t${valid.slice(5)}`)],
      ['8-bit bytes', Buffer.concat([latin1('session='), Buffer.from([0x80, 0xff, 0xc3, 0xa9, 0xfe])])],
      ['8-bit bytes after a valid value', Buffer.concat([latin1(`session=${valid}`), Buffer.from([0xa0, 0xe9])])],
      ['invalid UTF-8 in the name', Buffer.concat([Buffer.from([0xc0, 0xaf]), latin1(`session=${valid}`)])]
    ]
    const seen: string[] = []
    for (const [name, cookie] of cases) {
      const { status, text } = await rawRequest(port, request(cookie))
      seen.push(`${name}: ${status}`)
      t.ok(status === 200 || status === 400, `${format}, ${name}: ${status} (200 or Node's own 400)`)
      if (status === 200) t.match(text, /"keys":\[\],"isNew":true/, `${format}, ${name}: empty session`)
      t.notMatch(text, /set-cookie/i, `${format}, ${name}: no Set-Cookie`)
    }
    t.comment(`${format}: ${seen.join('; ')}`)

    const huge = await rawRequest(port, request(Buffer.from(`session=${valid}; pad=${'x'.repeat(20_000)}`)))
    t.equal(huge.status, 431, `${format}: a Cookie header over Node's 16 KiB limit gets 431`)

    const control = await rawRequest(port, request(Buffer.from(`session=${valid}`)))
    t.equal(control.status, 200, `${format}: the server still answers`)
    t.match(control.text, /"keys":\["a"\],"isNew":false/, `${format}: and reads a valid cookie`)
  }
})
