import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The one token check of the status server. API clients send `Authorization: Bearer <token>`; a
 * browser cannot send a header on navigation, so it opens `/?token=<token>` once and gets a
 * session cookie (HttpOnly, SameSite=Strict) that the page's own requests then carry.
 */
export interface TokenCheck {
  /** True when the request carries the bearer token or the session cookie; compared in constant time. */
  authorized(req: IncomingMessage): boolean;
  /**
   * For `GET /?token=<token>` with the right token: the Set-Cookie header for the session, to be
   * answered with a redirect to `/` so the token leaves the address bar and the history.
   */
  login(req: IncomingMessage, url: URL): string | undefined;
}

/** The query parameter a browser sends the token in once. */
export const LOGIN_PARAM = 'token';

/** The 401 answer to a browser opening the page without the cookie (no `token=` followed by a value: the server masks those). */
export const LOGIN_PAGE = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>quoting-collector: token needed</title>
<p>This status page needs the daemon's token (<code>http.token</code> in its config). Open it once as
<code>/?${LOGIN_PARAM}=&lt;http.token&gt;</code>: the daemon then keeps you signed in with a cookie and sends you on to the page.</p>
`;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export function tokenCheck(token: string): TokenCheck {
  const tokenDigest = digest(token);
  // The cookie holds a value derived from the token, not the token: it opens this server's pages
  // only and cannot be replayed as a bearer token.
  const session = createHmac('sha256', token).update('quoting-collector status page').digest('hex');
  const sessionDigest = digest(session);
  // Cookies are not kept apart by port: two daemons on one host each get their own name.
  const cookieName = (req: IncomingMessage) => `qc_session_${req.socket.localPort ?? 0}`;
  const matches = (sent: string, expected: Buffer) => timingSafeEqual(digest(sent), expected);
  return {
    authorized(req) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (bearer) return matches(bearer[1]!, tokenDigest);
      const cookie = cookieValue(req.headers.cookie, cookieName(req));
      return cookie !== undefined && matches(cookie, sessionDigest);
    },
    login(req, url) {
      const sent = url.searchParams.get(LOGIN_PARAM);
      if (req.method !== 'GET' || url.pathname !== '/' || sent === null || !matches(sent, tokenDigest)) return undefined;
      return `${cookieName(req)}=${session}; Path=/; HttpOnly; SameSite=Strict`;
    },
  };
}

/** The value of cookie `name` in a Cookie header, or undefined. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
