import { mulberry32, zipfSampler } from './prng.js'

// The population scenario (issue 17): many users, each with a session of its own, instead of one
// cookie replayed. N users log in once during set-up on a second app instance with the same
// secret (so the measured app starts without their cookies in its verified-cookie memory), then
// a seeded request sequence, the same for every variant: each request picks a user (uniformly or
// by Zipf's law, s = 1), sends that user's latest cookie, reads two keys or (a share `writes` of
// the requests) increments the user's counter, and the client keeps any Set-Cookie for that
// user, as a browser does. The baselines (pop-bare, pop-cookie) run the same sequence with a
// filler cookie of the same size.
//
// The options reach every process that builds or drives a population variant (server.js,
// inprocess.js, the instruction-mode child) through the environment: run.js sets
// BENCH_POPULATION to their JSON, and processes inherit it.

export const POPULATION_DEFAULTS = Object.freeze({ users: 10000, mix: 'uniform', seed: 1, writes: 0.1 })
export const MIXES = ['uniform', 'zipf']
const ENV = 'BENCH_POPULATION'

/** Checks and completes population options; throws with what to fix. */
export function populationOptions (given = {}) {
  const options = { ...POPULATION_DEFAULTS }
  for (const [key, value] of Object.entries(given)) if (value !== undefined) options[key] = value
  const { users, mix, seed, writes } = options
  if (!Number.isInteger(users) || users < 1) throw new Error(`--users must be a whole number ≥ 1, got ${users}`)
  if (!MIXES.includes(mix)) throw new Error(`--mix must be one of ${MIXES.join(', ')}, got ${mix}`)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`--seed must be a whole number from 0 to 2^32 - 1, got ${seed}`)
  if (!(writes >= 0 && writes <= 1)) throw new Error(`--writes must be a share from 0 to 1, got ${writes}`)
  return options
}

/** Hands the options to the child processes (they inherit the environment). */
export function sharePopulationOptions (options) {
  process.env[ENV] = JSON.stringify(populationOptions(options))
}

/** The options run.js set, or the defaults. */
export function currentPopulationOptions () {
  const text = process.env[ENV]
  return populationOptions(text === undefined ? {} : JSON.parse(text))
}

/** The session user `i` logs in with: a user id, a name, a role, a counter (about a 200 B signed cookie). */
const ROLES = ['viewer', 'editor', 'admin', 'billing']
export function userSession (i) {
  return { uid: 100000 + i, name: `User ${String(i).padStart(5, '0')} Example`, role: ROLES[i % ROLES.length], counter: 0 }
}

/**
 * The request sequence: `next()` returns the next request as `user * 2 + (write ? 1 : 0)` (one
 * number, so drawing allocates nothing). Zipf rank k is user k: user 0 is the busiest.
 */
export function createSequence ({ users, mix, seed, writes }) {
  const random = mulberry32(seed)
  const pick = mix === 'zipf' ? zipfSampler(users, random) : () => Math.floor(random() * users)
  return function next () {
    const user = pick()
    return user * 2 + (random() < writes ? 1 : 0)
  }
}

/** The path of a request drawn from the sequence. */
export function pathOf (request) {
  return (request & 1) === 1 ? '/write' : '/read'
}

/** A short description for the tables. */
export function describePopulation ({ users, mix, seed, writes }) {
  return `${users.toLocaleString('en-US')} users, ${mix === 'zipf' ? 'Zipf (s = 1)' : 'uniform'} mix, ` +
    `${Math.round(writes * 1000) / 10} % writes, seed ${seed}`
}
