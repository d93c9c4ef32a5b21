/**
 * `web.debugerror`: the debug-mode error page (web.py's `debugerror`), and the banner the
 * reloader adds to pages while the newest code fails to load. Everything printed is escaped.
 * @module
 */
import { config } from './config.js';
import { type RequestContext, SESSION_SLOT } from './ctx.js';
import { statusLine } from './http.js';
import type { RawResponse } from './types.js';

/** Escapes `& < > " '` for HTML text and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Header values that carry credentials: shown with their values masked. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

function maskHeader(name: string, value: string): string {
  if (name === 'cookie') {
    // Names are useful to see; values (the session id among them) are bearer secrets.
    return value
      .split(';')
      .map((part) => part.split('=')[0]?.trim())
      .filter(Boolean)
      .map((n) => `${n}=…`)
      .join('; ');
  }
  return SECRET_HEADERS.has(name) ? '…' : value;
}

function table(rows: [string, string][]): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  const body = rows
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('');
  return `<table>${body}</table>`;
}

function sessionKeys(context: RequestContext): string[] | undefined {
  const session = context.extra.get(SESSION_SLOT) as { data?: unknown } | undefined;
  if (!session) return undefined;
  try {
    const data = session.data;
    return data && typeof data === 'object' ? Object.keys(data) : [];
  } catch {
    return [];
  }
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#ffc;border-bottom:1px solid #ddd;padding:12px 20px}h1{margin:0 0 4px;font-size:20px}
h2{font-size:15px;margin:20px 20px 6px}pre,table,p{margin:0 20px}pre{background:#f6f6f6;padding:10px;overflow:auto}
th{text-align:right;vertical-align:top;padding:2px 10px 2px 0;color:#555;font-weight:normal;white-space:nowrap}
td{font-family:monospace;word-break:break-all}.none{color:#888}footer{margin:20px;color:#666}`;

/**
 * Renders an unexpected handler error as a readable page: the error and its stack, the request
 * (method, path, query, client, headers with cookie and authorization values masked) and the
 * session's keys (never its values). Used by default when `web.config.debug` is true; returns
 * undefined when it is false, so a plain 500 is answered and nothing leaks in production.
 *
 * @example app.errorRenderer = web.debugerror; // the default in debug mode anyway
 */
export function debugerror(error: unknown, context: RequestContext): RawResponse | undefined {
  if (!config.debug) return undefined;
  const err = error instanceof Error ? error : undefined;
  const name = err ? err.name || 'Error' : typeof error;
  const message = err ? err.message : String(error);
  const stack = err?.stack ?? String(error);
  console.error(`${context.method} ${context.fullpath}: ${stack}`);
  const keys = sessionKeys(context);
  const headers = Object.entries(context.env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]): [string, string] => [k, maskHeader(k, v)]);
  const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(`${name} at ${context.path}`)}</title><style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(name)} at ${escapeHtml(context.path)}</h1><div>${escapeHtml(message)}</div></header>
<h2>Traceback</h2>
<pre>${escapeHtml(stack)}</pre>
<h2>Request</h2>
${table([
  ['method', context.method],
  ['path', context.path],
  ['query', context.query],
  ['client', context.ip],
  ['url', context.home + context.fullpath],
])}
<h2>Headers</h2>
${table(headers)}
<h2>Session keys</h2>
${keys === undefined ? '<p class="none">no session for this request</p>' : keys.length === 0 ? '<p class="none">empty</p>' : `<pre>${escapeHtml(keys.join('\n'))}</pre>`}
<footer>You are seeing this page because <code>web.config.debug</code> is true. Without it the answer is a plain 500.</footer>
</body></html>`;
  return {
    status: statusLine(500),
    headers: [['Content-Type', 'text/html; charset=utf-8']],
    body: Buffer.from(page, 'utf8'),
  };
}

/**
 * Adds a visible banner to an HTML page saying the newest code failed to load and the last good
 * code is answering. Other content types are left alone.
 */
export function withReloadErrorBanner(response: RawResponse, error: string): RawResponse {
  const type = response.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? '';
  if (!/^text\/html\b/i.test(type) || response.body.length === 0) return response;
  const banner =
    '<div id="websession-reload-error" style="position:fixed;left:0;right:0;bottom:0;max-height:50%;overflow:auto;' +
    'background:#fee;border-top:2px solid #c00;font:13px monospace;padding:8px 12px;z-index:2147483647">' +
    '<b>Reload failed: serving the last good code until the file is fixed.</b>' +
    `<pre style="white-space:pre-wrap;margin:6px 0 0">${escapeHtml(error)}</pre></div>`;
  const html = response.body.toString('utf8');
  const at = html.lastIndexOf('</body>');
  const out = at >= 0 ? html.slice(0, at) + banner + html.slice(at) : html + banner;
  return { ...response, body: Buffer.from(out, 'utf8') };
}
