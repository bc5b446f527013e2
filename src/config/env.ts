const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** A `${NAME}` or `${NAME:-default}` placeholder anywhere in a string, as a JSON Schema pattern. */
export const ENV_PLACEHOLDER_PATTERN = VAR.source;

/**
 * Replaces `${NAME}` (or `${NAME:-default}`) in every string of a parsed config with the
 * environment's value, so secrets stay out of the file. Returns the problems found, by path.
 */
export function substituteEnv(node: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof node === 'string') {
    return node.replace(VAR, (_all, name: string, fallback: string | undefined) => {
      const value = env[name] ?? fallback;
      if (value === undefined) problems.push(`${path || '(root)'}: environment variable ${name} is not set`);
      return value ?? '';
    });
  }
  if (Array.isArray(node)) return node.map((item, i) => substituteEnv(item, env, `${path}[${i}]`, problems));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, substituteEnv(v, env, path ? `${path}.${k}` : k, problems)]),
    );
  }
  return node;
}
