import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { buildApp, cookiePair, pinClock, sessionSetCookie, setCookieHeaders } from '../helpers.js'
import { createSessionCodec } from '../../plugin/index.js'
import { SECRET } from '../helpers.js'
import { DAY, EMPTY, FORMATS, forge, harness, notIgnored, NOW, read, signCurrent } from './harness.js'

// The catalogue, continued: cookies that verify (a holder of the secret wrote them) but whose
// contents or times are wrong fail closed, in every format; what a session holds comes back
// exactly or fails loudly at save; and no cookie ever reaches a prototype.

const BAD_PAYLOADS: Array<[string, string | Buffer]> = [
  ['an array', '[1,2]'], ['a string', '"ab"'], ['a number', '5'], ['null', 'null'], ['true', 'true'],
  ['empty', ''], ['truncated JSON', '{"a":'], ['trailing data', '{"a":1}x'], ['two BOMs', '\ufeff\ufeff{"a":1}'],
  ['single quotes', "{'a':1}"], ['a bare NaN', '{"a":NaN}'], ['a comment', '{"a":1/*x*/}'],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])],
  ['an overlong UTF-8 quote', Buffer.from([0x7b, 0xc0, 0xa2, 0x61, 0x22, 0x3a, 0x31, 0x7d])],
  ['a UTF-8 surrogate', Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])]
]

/** Payloads JSON accepts but no session could have been saved as (values.ts would refuse them). */
const UNSAVEABLE: Array<[string, string]> = [
  ['a number JSON rounds to Infinity', '{"a":1e999}'],
  ['nesting deeper than a session can be saved', `{"a":${'['.repeat(80)}${']'.repeat(80)}}`],
  ['objects nested deeper than a session can be saved', `${'{"a":'.repeat(80)}1${'}'.repeat(80)}`],
  ['a signed exponent JSON rounds to Infinity', '{"a":-1E+400}'],
  ['a 400-digit number', `{"a":${'9'.repeat(400)}}`]
]

/** Time fields as text: absent, not numbers, negative, non-canonical, beyond any sane date. */
const BAD_TIMES: Record<string, string[]> = {
  signed: ['', 'null', 'NaN', 'undefined', '-1', '1e3', '0x1', ' 1', '+1', 'zzzzzzzzz', 'Infinity', '01'],
  encrypted: ['', 'null', 'NaN', 'undefined', '-1', '1e3', '0x1', ' 1', '+1', 'zzzzzzzzz', 'Infinity', '01'],
  flask: ['', 'A', 'AA', 'AAAA', 'AAAAAAAA', '__________', 'null', '-1', '+1', 'AQ==']
}
/** Well-formed times the clock checks must refuse: far future, zero, 2^53, beyond base-36 range. */
const EXTREME_TIMES = [0, 2 ** 32, 36 ** 8 - 1, Number.MAX_SAFE_INTEGER]

for (const format of FORMATS) {
  t.test(`${format}: verified payloads that are not a session fail closed`, async (t) => {
    pinClock(t, NOW)
    const h = await harness(t, format)
    for (const [name, payload] of BAD_PAYLOADS) {
      t.same(await notIgnored(h, [forge(format, payload)]), [], name)
    }
    t.ok(h.reasons.every((r) => r === 'bad-payload'), `reported as bad-payload: ${h.reasons.join(', ')}`)
  })

  for (const [name, payload] of UNSAVEABLE) {
    t.test(`${format}: a verified payload holding ${name} is an empty session, not a 500`, async (t) => {
      pinClock(t, NOW)
      const h = await harness(t, format)
      t.same(await read(h.app, `session=${forge(format, payload)}`), EMPTY, 'read')
      const write = await h.app.inject({ url: '/write', headers: { cookie: `session=${forge(format, payload)}` } })
      t.equal(write.statusCode, 200, 'written to')
    })
  }

  t.test(`${format}: a verified payload spelled non-canonically reads as its data and is written back canonically`, async (t) => {
    // The codecs keep a verified text as the data's canonical text without serialising it again
    // (values-format.ts canonicalText): only a key holder can sign another spelling, and the
    // next write stores the canonical text. Characters that could hide a limit ("e400", 64
    // brackets) are serialised: see UNSAVEABLE above.
    pinClock(t, NOW)
    const app = await buildApp({ format }, (app) => {
      app.get('/number', async (request) => request.session.a)
      app.get('/touch', async (request) => (request.session.b as { c: number[] }).c.length)
      app.get('/write', async (request) => { request.session.n = 1; return 'ok' })
      app.get('/data', async (request) => request.session.data())
    })
    t.teardown(() => app.close())
    const cookie = `session=${forge(format, '{ "a" : 1.0, "b": {"c": [1, 2]}, "e": "x1e5" }')}`
    const read = await app.inject({ url: '/number', headers: { cookie } })
    t.same([read.body, sessionSetCookie(read)], ['1', undefined], 'a number read: no Set-Cookie')
    t.equal((await app.inject({ url: '/touch', headers: { cookie } })).body, '2', 'an object handed out')
    const written = await app.inject({ url: '/write', headers: { cookie } })
    const data = await app.inject({ url: '/data', headers: { cookie: cookiePair(written) } })
    t.same(data.json(), { a: 1, b: { c: [1, 2] }, e: 'x1e5', n: 1 }, 'written back with the same data')
    if (format === 'signed') { // the only format whose payload is readable
      const payload = forge(format, '{"a":1,"b":{"c":[1,2]},"e":"x1e5","n":1}')
      t.equal(payload.split('.')[1], cookiePair(written).split('.')[1], 'in canonical text (the forged canonical payload is the same)')
    }
  })

  t.test(`${format}: time fields missing, null, strings, NaN, negative or huge fail closed`, async (t) => {
    pinClock(t, NOW)
    // With an absolute limit, a creation time that parses as some old date is refused too.
    const h = await harness(t, format, format === 'flask' ? {} : { absoluteMaxAge: 31 * DAY })
    const values: string[] = []
    for (const bad of BAD_TIMES[format] ?? []) {
      values.push(forge(format, '{"a":1}', { issued: bad }))
      if (format !== 'flask') values.push(forge(format, '{"a":1}', { created: bad }))
    }
    for (const time of EXTREME_TIMES) values.push(forge(format, '{"a":1}', { issued: time, created: time }))
    if (format !== 'flask') values.push(forge(format, '{"a":1}', { created: NOW + 1 }), forge(format, '{"a":1}', { issued: NOW - 10, created: NOW }))
    t.same(await notIgnored(h, values), [], `${values.length} cookies`)
    t.notOk(h.reasons.includes('too-large'))
  })

  t.test(`${format}: expiry at the exact boundary, and the clock-skew window`, async (t) => {
    const clock = pinClock(t, NOW)
    const h = await harness(t, format, { maxAge: 100 })
    const cookie = cookiePair(await h.app.inject('/write'))
    clock.advance(100)
    t.same((await read(h.app, cookie)).isNew, false, 'age == maxAge: valid')
    clock.advance(1)
    t.same(await read(h.app, cookie), EMPTY, 'age == maxAge + 1: empty, nothing written')
    t.same(h.reasons, ['expired'])
    t.same((await read(h.app, `session=${forge(format, '{"a":1}', { issued: NOW + 101 + 60 })}`)).keys, ['a'], '60 s ahead: allowed skew')
    t.same(await read(h.app, `session=${forge(format, '{"a":1}', { issued: NOW + 101 + 61 })}`), EMPTY, '61 s ahead: refused')
    t.same(h.reasons, ['expired', 'future'])
  })

  t.test(`${format}: absoluteMaxAge ends a session despite constant activity`, async (t) => {
    if (format === 'flask') {
      // Flask cookies carry no creation time: the limit could never be enforced, so it is refused.
      await t.rejects(buildApp({ format, absoluteMaxAge: 250 }), { code: 'FST_SESSION_INVALID_OPTION', message: /absoluteMaxAge/ })
      return
    }
    const clock = pinClock(t, NOW)
    const h = await harness(t, format, { maxAge: 100, absoluteMaxAge: 250 })
    let cookie = cookiePair(await h.app.inject('/permanent'))
    for (let elapsed = 50; elapsed <= 250; elapsed += 50) {
      clock.advance(50)
      const response = await h.app.inject({ url: '/read', headers: { cookie } })
      t.same(response.json(), { keys: ['user'], isNew: false }, `${elapsed} s: alive`)
      if (sessionSetCookie(response) !== undefined) cookie = cookiePair(response)
    }
    clock.advance(1)
    t.same(await read(h.app, cookie), EMPTY, '251 s: over, however fresh the cookie')
  })

  t.test(`${format}: __proto__, constructor and prototype in cookie data reach no prototype`, async (t) => {
    pinClock(t, NOW)
    const app = await buildApp({ format }, (app) => {
      app.get('/merge', async (request) => {
        // What application code does with session data: copies, spreads, for-in, clones.
        const session = request.session
        const copies = [{ ...session }, Object.assign({}, session, session.nested), { ...session.data() }, session.toJSON(),
          structuredClone(session.data()), JSON.parse(JSON.stringify(session)), { ...session.get('nested') as object }]
        const forIn: string[] = []
        for (const key in session) forIn.push(key)
        return {
          keys: Object.keys(session).sort(),
          nested: Object.keys(session.nested as object).sort(),
          forIn: forIn.sort(),
          plainPrototypes: copies.every((copy) => Object.getPrototypeOf(copy) === Object.prototype),
          hasProtoKey: 'polluted' in session || session.has('__proto__') || session.get('__proto__') !== undefined
        }
      })
    })
    t.teardown(() => app.close())
    const payload = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":{"polluted":3},' +
      '"nested":{"__proto__":{"polluted":4},"constructor":{"prototype":{"polluted":5}},"list":[{"__proto__":{"polluted":6}}]}}'
    const response = await app.inject({ url: '/merge', headers: { cookie: `session=${forge(format, payload)}` } })
    t.equal(response.statusCode, 200)
    t.same(response.json(), {
      keys: ['constructor', 'nested', 'prototype'],
      nested: ['constructor', 'list'],
      forIn: ['constructor', 'nested', 'prototype'],
      plainPrototypes: true,
      hasProtoKey: false
    })
    t.equal(({} as Record<string, unknown>).polluted, undefined, '({}).polluted is undefined')
    t.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
    t.equal(Object.hasOwn(Object, 'polluted') || Object.hasOwn(Function.prototype, 'polluted'), false)
  })

  t.test(`${format}: Unicode, NUL and lone surrogates round-trip exactly`, async (t) => {
    const values: Record<string, unknown> = {
      nul: 'a\u0000b\u0000',
      controls: '\u0001\u001f\u007f\u0085\u2028\u2029',
      lone: ['\ud800', '\udfff', 'x\udc00y', '\ud83d'],
      pairs: '😀🍪 Grüße 日本語 עברית',
      bom: '\ufeff',
      keyed: { '\u0000': 1, '\ud800': 2, é: 3, '😀': 4, '': 5 }
    }
    const app = await buildApp({ format }, (app) => {
      app.get('/store', async (request) => { Object.assign(request.session, values); return 'ok' })
      app.get('/check', async (request) => Object.keys(values).filter((key) => !isDeepStrictEqual(request.session.get(key), values[key])))
    })
    t.teardown(() => app.close())
    const stored = await app.inject('/store')
    t.equal(stored.statusCode, 200)
    t.same((await app.inject({ url: '/check', headers: { cookie: cookiePair(stored) } })).json(), [], 'no value differs')
  })

  t.test(`${format}: a session grown past the size limit: typed error, no Set-Cookie, old cookie still valid`, async (t) => {
    pinClock(t, NOW)
    const app = await buildApp({ format }, (app) => {
      app.get('/small', async (request) => { request.session.small = 1; return 'ok' })
      app.get('/grow', async (request) => {
        let text = ''
        for (let i = 0; text.length < 5000; i++) text += (i * 2654435761 % 4294967296).toString(36) // deflates poorly
        request.session.big = text
        return 'grown'
      })
      app.get('/read', async (request) => Object.keys(request.session))
    })
    t.teardown(() => app.close())
    const cookie = cookiePair(await app.inject('/small'))
    const grown = await app.inject({ url: '/grow', headers: { cookie } })
    t.equal(grown.statusCode, 500)
    t.equal(grown.json().code, 'FST_SESSION_TOO_LARGE')
    t.same(setCookieHeaders(grown), [], 'no Set-Cookie at all')
    t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), ['small'], 'the previous cookie still works')
  })
}

t.test('a cookie from the catalogue never makes a route that does not touch the session read it', async (t) => {
  pinClock(t, NOW)
  for (const format of FORMATS) {
    const h = await harness(t, format)
    const response = await h.app.inject({ url: '/plain', headers: { cookie: `session=${forge(format, '[1]')}` } })
    t.equal(response.body, 'plain')
    t.same(h.reasons, [], `${format}: never decoded`)
    t.equal(response.headers.vary, undefined)
  }
})

t.test('sanity: the catalogue covers the clock (DAY-sized maxAge defaults)', async (t) => {
  const clock = pinClock(t, NOW)
  for (const format of FORMATS) {
    const h = await harness(t, format)
    const cookie = `session=${forge(format, '{"a":1}')}`
    clock.advance(31 * DAY)
    t.same((await read(h.app, cookie)).keys, ['a'], `${format}: 31 days old, the default maxAge: valid`)
    clock.advance(1)
    t.same(await read(h.app, cookie), EMPTY, `${format}: one second more: empty`)
    clock.advance(-31 * DAY - 1)
  }
})

t.test('signed: an s3 text whose MAC verifies but whose fields are not the layout is malformed, not a session', async (t) => {
  // The MAC is checked before the text is taken apart: only a holder of the secret can get here.
  pinClock(t, NOW)
  const codec = createSessionCodec({ secret: SECRET })
  const payload = Buffer.from('{"a":1}').toString('base64url')
  const time = NOW.toString(36)
  const id = 'A'.repeat(22)
  const good = `s3.${payload}.${time}.${time}.${id}.0`
  t.match(codec.inspect(signCurrent(good)), { session: { data: { a: 1 } } }, 'the layout itself reads')
  const texts: Record<string, string> = {
    'no times': `s3.${payload}.${id}.0`,
    'one time': `s3.${payload}.${time}.${id}.0`,
    'a time with a leading zero': `s3.${payload}.0${time}.${time}.${id}.0`,
    'a time in capitals': `s3.${payload}.${time.toUpperCase()}.${time}.${id}.0`,
    'an id of 21 characters': `s3.${payload}.${time}.${time}.${'A'.repeat(21)}.0`,
    'an id outside base64url': `s3.${payload}.${time}.${time}.${'A'.repeat(21)};.0`,
    'flags 4': `s3.${payload}.${time}.${time}.${id}.4`,
    'no payload dot': `s3${payload}.${time}.${time}.${id}.0`
  }
  for (const [what, text] of Object.entries(texts)) {
    t.same(codec.inspect(signCurrent(text)), { reason: 'malformed' }, what)
  }
})
