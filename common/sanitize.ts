/**
 * The one place secrets are masked: URL credentials, secret query parameters and auth headers,
 * wherever they appear in text (log lines, status answers, metric labels, error messages).
 */

// The userinfo of a URL anywhere in text: `scheme://user:password@` or `scheme://token@`, up to
// the authority's last `@` (a password may hold a raw one). Stops at characters a userinfo cannot
// hold unencoded, so a JSON or quoted context around the URL stays intact.
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>\\]*)@/gi;
const SECRET_PARAMS = /([?&;](?:api[-_]?key|key|token|secret|signature|password|passphrase|auth)=)[^&\s#"'\\]+/gi;
const HEADER_SECRETS = /\b(authorization|x-mbx-apikey|ok-access-key|ok-access-sign|cb-access-key|cb-access-sign|api-key|x-api-key)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic)\s+)?[^\s"',;]+/gi;

// A whole URL, for the keys RPC providers put in the path (Alchemy `/v2/<key>`, Infura `/v3/<key>`,
// QuickNode `/<token>/`, Ankr `/eth/<key>`): a path segment of 24+ key characters is masked (not
// a 0x address or hash: those are public).
const URL_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>\\]+/gi;
const PATH_KEY = /\/(?!0x)[A-Za-z0-9_-]{24,}(?=[/?#]|$)/g;

/** `user:password` → `user:***` and `:password` → `:***` (the user helps debugging); a lone `token` (or `key:`) → `***`. */
function maskUserinfo(_: string, scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon >= 0 && colon < userinfo.length - 1 ? `${scheme}${userinfo.slice(0, colon)}:***@` : `${scheme}***@`;
}

/**
 * `text` with every URL's password (or lone token), every secret query parameter (`apiKey=`,
 * `token=`, `signature=`, ...) and every auth header value replaced by `***`.
 */
export function maskSecrets(text: string): string {
  return text
    .replace(URL_CREDENTIALS, maskUserinfo)
    .replace(SECRET_PARAMS, '$1***')
    .replace(HEADER_SECRETS, '$1$2***')
    .replace(URL_TEXT, (url) => url.replace(PATH_KEY, '/***'));
}

/** A URL as messages may show it: `wss://user:***@host/path?apiKey=***`. */
export function maskUrl(url: string): string {
  return maskSecrets(url);
}

/**
 * An error as status pages may show it: the first line of the message only (no stack),
 * with secrets masked ({@link maskSecrets}), and bounded length.
 */
export function sanitizeError(err: unknown, maxLength = 300): string {
  const text = err instanceof Error ? `${err.message || err.name}` : String(err);
  const masked = maskSecrets(text.split('\n')[0]!.trim());
  return masked.length > maxLength ? `${masked.slice(0, maxLength - 1)}…` : masked;
}
