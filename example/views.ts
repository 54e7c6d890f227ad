import { createHash } from 'node:crypto'

// The demo's few HTML pages, as plain functions returning strings. Every value that reaches the
// markup goes through escapeHtml: usernames typed into the form and session contents included.

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; color: #1f2328; background: #f4f5f7; margin: 0; }
main { max-width: 36rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 8px;
  box-shadow: 0 1px 3px rgb(0 0 0 / 0.15); }
h1 { margin-top: 0; font-size: 1.6rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { box-sizing: border-box; width: 100%; padding: 0.5rem; font: inherit; border: 1px solid #8c959f; border-radius: 4px; }
button { margin-top: 1.25rem; padding: 0.5rem 1.25rem; font: inherit; color: #fff; background: #0969da;
  border: 0; border-radius: 4px; cursor: pointer; }
.error { color: #b42318; font-weight: 600; min-height: 1.5em; margin: 0; }
.error:empty { display: none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
code, pre { font-family: ui-monospace, monospace; }
pre { background: #f6f8fa; padding: 0.75rem; border-radius: 4px; overflow-x: auto; }
nav { margin-top: 1.5rem; }
#sha256 { overflow-wrap: anywhere; }
`

// The stylesheet is allowed by its hash, so the policy needs no 'unsafe-inline' and no script at all.
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64')

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  'img-src data:',
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'"
].join('; ')

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string)
}

function page (title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

/**
 * The token @fastify/csrf-protection checks on every POST: it proves the form was shown by this
 * site to this session (another site can make a browser send a form, not read one).
 */
function csrfField (csrfToken: string): string {
  return `<input type="hidden" name="_csrf" value="${escapeHtml(csrfToken)}">`
}

/** The login form; `error` fills the alert area, `username` keeps what was typed. */
export function loginPage (csrfToken: string, options: { error?: string, username?: string } = {}): string {
  const username = options.username ?? ''
  return page('Log in', `<h1>Log in</h1>
<p id="error" class="error" role="alert">${escapeHtml(options.error ?? '')}</p>
<form method="post" action="/login">
  ${csrfField(csrfToken)}
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required value="${escapeHtml(username)}"${username === '' ? ' autofocus' : ''}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required${username === '' ? '' : ' autofocus'}>
  <button type="submit">Log in</button>
</form>
<nav><a href="/">Home: all demo routes and the session</a></nav>`)
}

/** A whole number of seconds in the largest unit that divides it: "31 days", "90 minutes". */
export function describeDuration (seconds: number): string {
  const [unit, size] = ([['day', 86400], ['hour', 3600], ['minute', 60]] as const)
    .find(([, size]) => seconds % size === 0) ?? ['second', 1]
  const count = seconds / size
  return `${count} ${unit}${count === 1 ? '' : 's'}`
}

/**
 * Logging out rewrites the cookie this browser holds; the server keeps nothing to forget, so a
 * copy taken before (another device, a stolen cookie) keeps working until it expires. Ending
 * every copy needs server-side state: "End all sessions" (logoutEverywhereForm).
 */
function logoutForm (csrfToken: string, sessionLifetime: number): string {
  return `<form method="post" action="/logout">${csrfField(csrfToken)}<button type="submit">Log out</button></form>
<p id="logout-note">Logging out removes <code>logged_in</code> from the cookie in this browser only.
The session lives in the cookie, not on the server, so there is nothing to cancel: a copy of your
session cookie saved before you log out still opens this dashboard until it expires, up to
${describeDuration(sessionLifetime)} after it was issued. To end every copy, use
<strong>End all sessions</strong> on the dashboard: that one is recorded on the server.</p>`
}

/**
 * The server-side answer to the note above: the user's "valid after" time moves to now, and
 * every session of the user created before is refused. Not labelled "Log out ...": the
 * dashboard's plain logout button must stay the only one with that name.
 */
function logoutEverywhereForm (csrfToken: string): string {
  return `<form method="post" action="/logout_everywhere">${csrfField(csrfToken)}<button type="submit">End all sessions</button></form>
<p id="logout-everywhere-note">Unlike logging out, this is recorded on the server: it ends every
session of your account at once, this one and every copy of its cookie in another browser or on
another device, saved before or not.</p>`
}

export function dashboardPage (csrfToken: string, sessionLifetime: number): string {
  return page('Dashboard', `<h1>Welcome to the dashboard!</h1>
<p>You are logged in: your session cookie holds <code>logged_in = true</code>.</p>
${logoutForm(csrfToken, sessionLifetime)}
${logoutEverywhereForm(csrfToken)}
<nav><a href="/">Home: all demo routes and the session</a></nav>`)
}

/** What a browser gets from GET /logout: a link or an image on another site must not log anyone out. */
export function logoutPage (csrfToken: string, sessionLifetime: number): string {
  return page('Log out', `<h1>Log out?</h1>
<p>Logging out is a button, not a link, so that no other page can do it for you.</p>
${logoutForm(csrfToken, sessionLifetime)}
<nav><a href="/dashboard">Back to the dashboard</a></nav>`)
}

/** POST /logout_everywhere when the store of "valid after" times did not answer. */
export function storeUnavailablePage (): string {
  return page('Try again', `<h1>Sessions not ended</h1>
<p class="error">The session store did not answer, so no session was ended and you are still logged in.
Try again in a moment.</p>
<nav><a href="/dashboard">Back to the dashboard</a></nav>`)
}

/** A POST whose CSRF token is missing, forged, or from before the session changed. */
export function refusedPage (): string {
  return page('Form refused', `<h1>Form refused</h1>
<p class="error">This form was not sent from a page this site showed you in your current session:
it came from another site, or the session changed since (a login, an expired cookie). Nothing changed.</p>
<nav><a href="/login">Log in</a> · <a href="/">Home: all demo routes and the session</a></nav>`)
}

/** /big_session's value in a few characters: its length and SHA-256, to compare without 10 KiB of text. */
export interface BigValueSummary {
  characters: number
  /** Hex. */
  sha256: string
  /** The session cookies the browser sent it in (`session`, `session.1`, …). */
  cookies: string[]
}

function bigValueFacts (summary: Omit<BigValueSummary, 'cookies'>): string {
  return `<p><span id="characters">${summary.characters}</span> random characters, SHA-256
<code id="sha256">${escapeHtml(summary.sha256)}</code>.</p>`
}

const DROP_AND_HOME = '<a href="/drop_big_session">Drop it</a> · <a href="/">Home: all demo routes and the session</a>'

/** GET /big_session: what was stored (the cookies are written after this page is made). */
export function bigValueStoredPage (summary: Omit<BigValueSummary, 'cookies'>): string {
  return page('Big value stored', `<h1>Big value stored</h1>
${bigValueFacts(summary)}
<p>That is more than one cookie holds, so the session is now split across several cookies. Open
<a href="/get_big_session">/get_big_session</a> (and reload it) to read it back from them.</p>
<nav><a href="/get_big_session">Read it back</a> · ${DROP_AND_HOME}</nav>`)
}

/** GET /get_big_session: the stored value's summary and the cookies it came in, or that there is none. */
export function bigValuePage (summary: BigValueSummary | undefined): string {
  if (summary === undefined) {
    return page('No big value', `<h1>No big value</h1>
<p>The session holds no big value: <a href="/big_session">/big_session</a> stores one.</p>
<nav><a href="/">Home: all demo routes and the session</a></nav>`)
  }
  const cookies = summary.cookies.map((name) => `<li><code>${escapeHtml(name)}</code></li>`).join('')
  return page('Big value', `<h1>Big value</h1>
${bigValueFacts(summary)}
<p>Your browser sent it in ${summary.cookies.length} cookie${summary.cookies.length === 1 ? '' : 's'}:</p>
<ul id="cookies">${cookies}</ul>
<nav>${DROP_AND_HOME}</nav>`)
}

/** Any route whose session no longer fits its cookies (FST_SESSION_TOO_LARGE): nothing was saved. */
export function sessionTooLargePage (advice: string): string {
  return page('Session not saved', `<h1>Session not saved</h1>
<p class="error" id="too-large">${escapeHtml(advice)}</p>
<nav><a href="/">Home: all demo routes and the session</a></nav>`)
}

export interface RouteInfo {
  method: 'GET' | 'POST'
  path: string
  description: string
}

/** What the index page tells about the cookie: its attributes, never its value. */
export type CookieAttributes = Record<string, string>

export function indexPage (routes: readonly RouteInfo[], session: Record<string, unknown>, cookie: CookieAttributes): string {
  const routeRows = routes.map((route) => {
    const path = escapeHtml(route.path)
    const link = route.method === 'GET' ? `<a href="${path}">${path}</a>` : path
    return `<tr><td>${route.method}</td><td><code>${link}</code></td><td>${escapeHtml(route.description)}</td></tr>`
  }).join('\n')
  const keys = Object.keys(session)
  const contents = keys.length === 0
    ? '<p>The session is empty: no cookie is stored.</p>'
    : `<pre id="session">${escapeHtml(JSON.stringify(session, null, 2))}</pre>`
  const cookieRows = Object.entries(cookie)
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('\n')
  return page('fastify-cookie-session demo', `<h1>fastify-cookie-session demo</h1>
<p>Flask's session tutorial on Fastify. Visit the routes, then come back here to watch the session change.</p>
<h2>Routes</h2>
<table>
${routeRows}
</table>
<h2>Current session</h2>
${contents}
<h2>Session cookie</h2>
<table id="cookie">
${cookieRows}
</table>`)
}
