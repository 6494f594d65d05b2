/** Type guards shared by every module that reads untyped data (cluster files, SOPS files, API objects). */

/** True for a plain object (a mapping): not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
