// The main module workerd serves (test/edge/processes.ts copies it beside the bundle, bundle.mjs):
// POST a JSON `{ input }`, get `{ ok, output }` or `{ ok: false, error }` back.
import * as bundle from './bundle.mjs'

export default {
  async fetch (request) {
    try {
      const { input } = await request.json()
      return Response.json({ ok: true, output: await bundle.run(input) })
    } catch (error) {
      return Response.json({ ok: false, error: { name: error?.name, message: error?.message ?? String(error), stack: error?.stack } })
    }
  }
}
