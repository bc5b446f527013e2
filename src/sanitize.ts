const SECRET_PARAMS = /([?&;](?:api[-_]?key|key|token|secret|signature|password|passphrase|auth)=)[^&\s#]+/gi;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;
const HEADER_SECRETS = /\b(authorization|x-mbx-apikey|ok-access-key|ok-access-sign|cb-access-key|cb-access-sign|api-key|x-api-key)(\s*[:=]\s*)\S+/gi;

/**
 * An error as status pages may show it: the first line of the message only (no stack),
 * with credentials in URLs, secret query parameters and auth headers masked, and bounded length.
 */
export function sanitizeError(err: unknown, maxLength = 300): string {
  const text = err instanceof Error ? `${err.message || err.name}` : String(err);
  const line = text.split('\n')[0]!.trim();
  const masked = line
    .replace(URL_CREDENTIALS, '$1***@')
    .replace(SECRET_PARAMS, '$1***')
    .replace(HEADER_SECRETS, '$1$2***');
  return masked.length > maxLength ? `${masked.slice(0, maxLength - 1)}…` : masked;
}
