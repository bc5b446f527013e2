/** Reading the JSON requests clients send to an exchange simulator. */

/** A parsed JSON object whose fields are still to be checked. */
export type JsonObject = Record<string, unknown>;

/** Whether a parsed JSON value is an object (not null, not an array), so its fields can be read. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
