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

/** The login form; `error` fills the alert area, `username` keeps what was typed. */
export function loginPage (options: { error?: string, username?: string } = {}): string {
  const username = options.username ?? ''
  return page('Log in', `<h1>Log in</h1>
<p id="error" class="error" role="alert">${escapeHtml(options.error ?? '')}</p>
<form method="post" action="/login">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required value="${escapeHtml(username)}"${username === '' ? ' autofocus' : ''}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required${username === '' ? '' : ' autofocus'}>
  <button type="submit">Log in</button>
</form>
<nav><a href="/">Home: all demo routes and the session</a></nav>`)
}

export function dashboardPage (): string {
  return page('Dashboard', `<h1>Welcome to the dashboard!</h1>
<p>You are logged in: your session cookie holds <code>logged_in = true</code>.</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
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
