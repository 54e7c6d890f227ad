import type { AddressInfo } from 'node:net'
import { buildApp } from './app.js'
import { describeStartError, readConfig } from './config.js'

// `npm start`: read the environment, build the demo, listen. A bad setting ends the process with
// one line naming the variable, before anything listens.

async function start (): Promise<void> {
  const config = readConfig(process.env)
  const app = buildApp(config, { logger: true })
  for (const warning of config.warnings) app.log.warn(`WARNING: ${warning}`)

  // Fastify logs "Server listening at <url>" itself; this line is for the person who ran npm start.
  await app.listen({ host: config.host, port: config.port })
  const { port } = app.server.address() as AddressInfo
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  process.stdout.write(`\nDemo running: open http://${host}:${port}/ (log in at http://${host}:${port}/login)\n\n`)

  // app.close() also closes the "log out everywhere" store (its Redis connection, if any).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.close().then(() => process.exit(0), () => process.exit(1))
    })
  }
}

start().catch((error: unknown) => {
  process.stderr.write(`Cannot start the demo: ${describeStartError(error)}\n`)
  process.exitCode = 1
})
