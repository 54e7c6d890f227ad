// Turns per-round measurements into medians, the Markdown table and the targets (plus
// informative lines that have no target).

function median (values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** { variant: [round results] } → { variant: medians and totals }. */
export function summarize (runs) {
  const summary = {}
  for (const [name, rounds] of Object.entries(runs)) {
    const pick = (key) => median(rounds.map((r) => r[key]))
    const setCookies = new Set(rounds.map((r) => r.setCookie))
    summary[name] = {
      rounds: rounds.length,
      rps: pick('rps'),
      p50: pick('p50'),
      p99: pick('p99'),
      cpuPerRequest: pick('cpuPerRequest'),
      instructionsPerRequest: pick('instructionsPerRequest'),
      wallPerRequest: pick('wallPerRequest'),
      cookieBytes: rounds.at(-1).cookieBytes,
      setCookie: setCookies.size === 1 ? [...setCookies][0] : 'mixed',
      statuses: [...new Set(rounds.map((r) => r.status))],
      errors: rounds.reduce((sum, r) => sum + r.errors, 0),
      non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0)
    }
  }
  return summary
}

const fixed = (digits) => (value) => Number.isFinite(value) ? value.toFixed(digits) : '–'
const one = fixed(1)
const two = fixed(2)
const signed = (value) => Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(1)}` : '–'
const yesNo = (value) => value === true ? 'yes' : value === false ? 'no' : String(value)

const thousands = (value) => Number.isFinite(value) ? (value / 1000).toFixed(1) : '–'
const signedThousands = (value) => Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${(value / 1000).toFixed(1)}` : '–'

export function markdownTable (summary, { inprocess, instructions }) {
  const bare = summary.bare
  const cookie = summary.cookie
  const rows = Object.entries(summary).map(([name, s]) => {
    const overCookie = s.cpuPerRequest - (cookie?.cpuPerRequest ?? NaN)
    const failures = `${s.errors}/${s.non2xx}`
    if (instructions) {
      const count = s.instructionsPerRequest
      return [name, thousands(count), signedThousands(count - (cookie?.instructionsPerRequest ?? NaN)),
        signedThousands(count - (bare?.instructionsPerRequest ?? NaN)), s.cookieBytes, yesNo(s.setCookie), failures]
    }
    if (inprocess) {
      return [name, Math.round(s.rps), two(s.cpuPerRequest), signed(overCookie), two(s.wallPerRequest),
        s.cookieBytes, yesNo(s.setCookie), failures]
    }
    return [name, Math.round(s.rps), two(s.rps / (bare?.rps ?? NaN)), two(s.p50), two(s.p99),
      one(s.cpuPerRequest), signed(overCookie), s.cookieBytes, yesNo(s.setCookie), failures]
  })
  const header = instructions
    ? ['variant', 'k instr/req', 'k vs cookie', 'k vs bare', 'cookie B', 'Set-Cookie', 'errors/non-2xx']
    : inprocess
      ? ['variant', 'req/s', 'CPU µs/req', 'µs vs cookie', 'wall µs/req', 'cookie B', 'Set-Cookie', 'errors/non-2xx']
      : ['variant', 'req/s', '× bare', 'p50 ms', 'p99 ms', 'CPU µs/req', 'µs vs cookie', 'cookie B', 'Set-Cookie', 'errors/non-2xx']
  const align = header.map((_, i) => i === 0 ? ':---' : '---:')
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
}

/**
 * The targets, checked against this run's medians; targets whose variants did not run are
 * left out. In instruction mode the µs limits do not apply (instructions are not µs): those lines
 * become informative counts, and the ratio targets are checked on instructions.
 */
export function checkTargets (summary, { instructions = false } = {}) {
  const metric = instructions ? 'instructionsPerRequest' : 'cpuPerRequest'
  const cpu = (name) => summary[name]?.[metric] ?? NaN
  const results = []
  const check = (label, value, limit, pass, unit = 'µs') => {
    if (!Number.isFinite(value)) return
    results.push({ label, value: Number(value.toFixed(2)), limit, unit, pass })
  }
  const overCookie = (name) => cpu(name) - cpu('cookie')
  const overBare = (name) => cpu(name) - cpu('bare')
  /** A µs target, or in instruction mode the same difference as an informative count. */
  const absolute = (label, value, limit) => {
    if (instructions) info(`${label.replace('µs/req', 'k instructions/req')}`, value / 1000, 'k')
    else check(label, value, `≤ ${limit}`, value <= limit)
  }

  absolute('untouched route: µs/req over bare + @fastify/cookie', overCookie('ours-untouched'), 1)
  for (const format of ['signed', 'encrypted', 'flask']) {
    absolute(`${format} read: µs/req over bare + @fastify/cookie`, overCookie(`ours-${format}-read`), 5)
    absolute(`${format} write: µs/req over bare + @fastify/cookie`, overCookie(`ours-${format}-write`), 12)
  }

  const pairs = [['ours-untouched', 'secure-untouched']]
  for (const format of ['signed', 'encrypted', 'flask']) {
    pairs.push([`ours-${format}-read`, 'secure-read'], [`ours-${format}-write`, 'secure-write'])
  }
  pairs.push(['ours-signed-large-read', 'secure-large-read'], ['ours-signed-large-write', 'secure-large-write'])
  for (const [ours, theirs] of pairs) {
    // Overhead over bare fastify: both plugins bring @fastify/cookie, so it is in both.
    ratioCheck(`${ours} vs ${theirs}: their overhead ÷ ours (over bare)`, overBare(theirs), overBare(ours), '≥ 1.5',
      (ratio) => ratio >= 1.5)
  }

  for (const action of ['read', 'write']) {
    ratioCheck(`3.9 KB vs 200 B cookie, ${action}: overhead ratio (over bare + @fastify/cookie)`,
      overCookie(`ours-signed-large-${action}`), overCookie(`ours-signed-${action}`), '≤ 2', (ratio) => ratio <= 2)
  }

  // Informative, not targets: a replayed cookie is answered from the plugin's verified-cookie
  // memory; the cold variants send one it does not hold on every request, the full verification.
  for (const format of ['signed', 'encrypted']) {
    const cold = `ours-${format}-read-cold`
    const unit = instructions ? 'k instructions/req' : 'µs/req'
    info(`${format} read, cold (a new cookie every request): ${unit} over bare + @fastify/cookie`,
      overCookie(cold) / (instructions ? 1000 : 1), instructions ? 'k' : 'µs')
    infoRatio(`${cold} vs secure-read-cold: their overhead ÷ ours (over bare)`, overBare('secure-read-cold'), overBare(cold))
  }
  // As a browser does: each request brings the cookie the previous response set. Ours remembers
  // the cookies it issues, so this should cost about what the replayed write does.
  infoRatio('ours-signed-write-chained vs secure-write-chained: their overhead ÷ ours (over bare)',
    overBare('secure-write-chained'), overBare('ours-signed-write-chained'))
  infoRatio('ours-signed-write-chained vs ours-signed-write: overhead ratio (over bare), expected ≈ 1',
    overBare('ours-signed-write-chained'), overBare('ours-signed-write'))
  // secure-session caches nothing, so ≈ 1 here says the rotation itself costs the server nothing.
  infoRatio('secure-read-cold vs secure-read: overhead ratio (over bare), expected ≈ 1',
    overBare('secure-read-cold'), overBare('secure-read'))
  return results

  function info (label, value, unit) {
    if (Number.isFinite(value)) results.push({ label, value: Number(value.toFixed(2)), limit: null, unit, pass: null, info: true })
  }

  function infoRatio (label, numerator, denominator) {
    if (!Number.isFinite(numerator) || !Number.isFinite(denominator)) return
    if (numerator <= 0 || denominator <= 0) {
      results.push({ label, value: null, limit: null, unit: '×', pass: null, info: true, note: 'inconclusive: an overhead is not above its baseline (noise)' })
      return
    }
    info(label, numerator / denominator, '×')
  }

  /** A ratio of two overheads means something only when both are above the noise, i.e. positive. */
  function ratioCheck (label, numerator, denominator, limit, passes) {
    if (!Number.isFinite(numerator) || !Number.isFinite(denominator)) return
    if (numerator <= 0 || denominator <= 0) {
      results.push({ label, value: null, limit, unit: '×', pass: false, note: 'inconclusive: an overhead is not above its baseline (noise)' })
      return
    }
    check(label, numerator / denominator, limit, passes(numerator / denominator), '×')
  }
}

export function targetsMarkdown (targets) {
  return targets.map((t) => {
    if (t.info) return t.value === null ? `- ℹ️ ${t.label}: ${t.note} (informative)` : `- ℹ️ ${t.label}: ${t.value} ${t.unit} (informative)`
    return t.value === null
      ? `- ❔ ${t.label}: ${t.note} (target ${t.limit})`
      : `- ${t.pass ? '✅' : '❌'} ${t.label}: ${t.value} ${t.unit} (target ${t.limit})`
  }).join('\n')
}
