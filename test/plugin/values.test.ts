import t from 'tap'
// node:util's comparison is strict about types (Date vs string, Buffer vs object).
import { isDeepStrictEqual } from 'node:util'
import { cloneParsed, equalsParsed, parse, serialize } from '../../plugin/values.js'
import { buildApp, Browser, cookiePair, sessionSetCookie } from '../helpers.js'

// What a session can hold, exactly as it comes back on the next request.

const stored: Record<string, unknown> = {
  text: 'Kími ✓ 😀 "quotes" \\ back\nslash',
  nul: 'a\u0000b',
  loneSurrogate: 'x\uD800y',
  number: -12.5e-7,
  integer: 9007199254740991,
  zero: 0,
  yes: true,
  no: false,
  nothing: null,
  list: [1, 'two', [3], { four: 4 }, null],
  nested: { deep: { deeper: { deepest: 'ok' } } },
  date: new Date('2020-02-29T12:34:56.789Z'),
  bytes: Buffer.from([0, 1, 2, 250, 255]),
  emptyBytes: Buffer.alloc(0),
  inArray: [new Date(0), Buffer.from('hi')],
  looksLikeDateTag: { ' d': 'not a date, just a key' },
  looksLikeBytesTag: { ' b': 12 },
  looksLikeEscape: { ' o': { ' d': 'x' } },
  twoKeysWithTag: { ' d': 1, other: 2 },
  constructor: 'a data key, harmless',
  prototype: { also: 'data' },
  emptyObject: {},
  emptyArray: []
}

t.test('every storable value round-trips with its type', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/store', async (request) => {
      for (const [key, value] of Object.entries(stored)) request.session.set(key, value)
      request.session.set('uint8', new Uint8Array([9, 8, 7]))
      return 'stored'
    })
    app.get('/check', async (request) => {
      const session = request.session
      return {
        same: Object.keys(stored).filter((key) => !isDeepStrictEqual(session.get(key), stored[key])),
        dateIsDate: session.date instanceof Date,
        bytesIsBuffer: Buffer.isBuffer(session.bytes),
        uint8: Buffer.isBuffer(session.uint8) && [...(session.uint8 as Buffer)].join(','),
        arrayDate: (session.inArray as unknown[])[0] instanceof Date,
        keys: Object.keys(session).length
      }
    })
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/store')
  t.same((await browser.get('/check')).json(), {
    same: [],
    dateIsDate: true,
    bytesIsBuffer: true,
    uint8: '9,8,7',
    arrayDate: true,
    keys: Object.keys(stored).length + 1
  }, 'no key differs after the round trip')
})

t.test('read again and again (then copied from a parsed copy the memory keeps), every value keeps its type, and a change made in place is saved', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/store', async (request) => {
      for (const [key, value] of Object.entries(stored)) request.session.set(key, value)
      return 'stored'
    })
    app.get('/check', async (request) => ({
      same: Object.keys(stored).filter((key) => !isDeepStrictEqual(request.session.get(key), stored[key]))
    }))
    // Changed in place, deep inside: only a copy that shares nothing with the remembered one is seen as changed.
    app.get('/change', async (request) => {
      ((request.session.list as unknown[])[3] as { four: number }).four = 5
      ;(request.session.inArray as Buffer[])[1]?.fill(0)
      return 'changed'
    })
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/store')
  for (let read = 1; read <= 5; read++) t.same((await browser.get('/check')).json(), { same: [] }, `read ${read}: no key differs`)
  const changed = await browser.get('/change')
  t.ok(sessionSetCookie(changed), 'the change is saved')
  t.same((await browser.get('/check')).json(), { same: ['list', 'inArray'] }, 'and read back')
  t.same((await browser.get('/check')).json(), { same: ['list', 'inArray'] }, 'again')
})

t.test('undefined object properties are skipped, as JSON does', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/store', async (request) => {
      request.session.obj = { a: 1, b: undefined }
      request.session.withDate = { when: new Date(0), skipped: undefined }
      return 'ok'
    })
    app.get('/check', async (request) => [Object.keys(request.session.obj as object), Object.keys(request.session.withDate as object)])
  })
  t.teardown(() => app.close())
  const browser = new Browser(app)
  await browser.get('/store')
  t.same((await browser.get('/check')).json(), [['a'], ['when']])
})

t.test('values that cannot be stored are refused with the path and the reason', async (t) => {
  class Point { x = 1 }
  const circular: Record<string, unknown> = {}
  circular.self = circular
  let deep: Record<string, unknown> = {}
  const root = deep
  for (let i = 0; i < 70; i++) { deep.next = {}; deep = deep.next as Record<string, unknown> }
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['function', () => () => 1, /session\.v is a function/],
    ['symbol', () => Symbol('s'), /session\.v is a symbol/],
    ['bigint', () => 1n, /session\.v is a bigint/],
    ['NaN', () => NaN, /session\.v is NaN \(only finite numbers/],
    ['Infinity', () => [Infinity], /session\.v\[0\] is Infinity/],
    ['undefined in an array', () => [1, undefined], /session\.v\[1\] is undefined/],
    ['circular', () => circular, /session\.v\.self is a circular reference/],
    ['class instance', () => new Point(), /session\.v is a Point instance/],
    ['Map', () => ({ m: new Map() }), /session\.v\.m is a Map instance/],
    ['invalid Date', () => new Date('nope'), /session\.v is an invalid Date/],
    ['too deep', () => root, /nested deeper than 64 levels/],
    ['__proto__ key', () => JSON.parse('{"__proto__": {"polluted": true}}'), /session\.v\.__proto__ is a forbidden key/],
    ['object without constructor', () => Object.create(Object.create(null)), /session\.v is an unsupported object/]
  ]
  const app = await buildApp({}, (app) => {
    app.get('/:case', async (request) => {
      const [, make] = cases[Number((request.params as { case: string }).case)] as [string, () => unknown, RegExp]
      request.session.v = make()
      return 'not reached'
    })
  })
  t.teardown(() => app.close())
  for (const [index, [name, , message]] of cases.entries()) {
    const response = await app.inject(`/${index}`)
    t.equal(response.statusCode, 500, name)
    t.match(response.json(), { code: 'FST_SESSION_UNSTORABLE_VALUE', message }, name)
    t.equal(sessionSetCookie(response), undefined, `${name}: nothing sent`)
  }
})

t.test('no prototype pollution from keys or cookie data', async (t) => {
  const app = await buildApp({}, (app) => {
    app.get('/key', async (request) => {
      request.session.set('__proto__', { polluted: true })
      return 'not reached'
    })
    app.get('/store', async (request) => {
      request.session.set('constructor', { prototype: { polluted: true } })
      request.session.prototype = { polluted: true }
      request.session.nested = JSON.parse('{"constructor": {"prototype": {"polluted": true}}}')
      return 'ok'
    })
    app.get('/read', async (request) => {
      const copy = { ...request.session.data() }
      Object.assign({}, request.session.nested)
      return { keys: Object.keys(copy), polluted: ({} as Record<string, unknown>).polluted === undefined }
    })
  })
  t.teardown(() => app.close())
  const key = await app.inject('/key')
  t.equal(key.json().code, 'FST_SESSION_INVALID_KEY')
  const cookie = cookiePair(await app.inject('/store'))
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { keys: ['constructor', 'prototype', 'nested'], polluted: true })
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
})

t.test('a copy of parsed data never carries a __proto__ key over, nor sets a prototype', async (t) => {
  // parse() drops such keys; the copy refuses them again, whatever it is handed.
  const parsed = JSON.parse('{"__proto__":{"polluted":true},"a":{"__proto__":{"deep":true},"b":[{"c":1}]}}') as Record<string, unknown>
  const copy = cloneParsed(parsed)
  t.notOk(Object.hasOwn(copy, '__proto__'), 'no own __proto__ key')
  t.equal(Object.getPrototypeOf(copy), Object.prototype)
  t.equal(Object.getPrototypeOf(copy.a), Object.prototype)
  t.same(copy, { a: { b: [{ c: 1 }] } })
  t.not(copy.a, parsed.a, 'nested objects are copies')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
})

t.test('equalsParsed says whether live data still serialises to what was parsed', async (t) => {
  const parsed = parse(serialize({ bytes: Buffer.from([1, 2, 3]), when: new Date(0), list: [1, { a: 'b' }], n: 1 }))
  const live = () => cloneParsed(parsed)
  t.ok(equalsParsed(live(), parsed), 'an untouched copy')
  const changedBytes = live(); (changedBytes.bytes as Buffer)[0] = 9
  t.notOk(equalsParsed(changedBytes, parsed), 'a byte changed')
  const otherType = live(); otherType.bytes = [1, 2, 3]
  t.notOk(equalsParsed(otherType, parsed), 'bytes replaced by an array')
  const withUndefined = live(); withUndefined.gone = undefined
  t.ok(equalsParsed(withUndefined, parsed), 'an undefined property is skipped, as serialize skips it')
  const reordered = live(); const n = reordered.n; delete reordered.n; reordered.n = n
  t.ok(equalsParsed(reordered, parsed), 'the same key moved to the end already was last')
  const moved = live(); const list = moved.list; delete moved.list; moved.list = list
  t.notOk(equalsParsed(moved, parsed), 'a key moved changes the text')
  const date = live(); (date.when as Date).setTime(1)
  t.notOk(equalsParsed(date, parsed), 'a Date changed')
  for (const [a, b] of [[1, '1'], [null, {}], [{}, null], [[1], [1, 2]], [{ a: 1 }, [1]], [[1], { 0: 1 }], [new Date(0), {}]]) {
    t.equal(equalsParsed(a, b), serialize(a) === serialize(b), `${JSON.stringify(a)} against ${JSON.stringify(b)}`)
  }
  t.notOk(equalsParsed(new (class Box { a = 1 })(), { a: 1 }), 'a class instance with the same fields: serialising will refuse it')
})
