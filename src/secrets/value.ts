// The JS shape of secret values the library hands out and accepts.
import type { Scalar } from "./values.ts";

/** A decrypted value: a scalar (string, number, bigint for integers beyond 2^53, boolean), null, a list or a mapping. */
export type SecretValue = Scalar | null | SecretValue[] | { [key: string]: SecretValue };

/** Methods both document kinds offer over their (decrypted) values. Paths are mapping keys from the top. */
export interface ValueAccess {
  /** Names under `path` (top level by default), in file order; undefined when `path` is not a mapping. */
  keysAt(path: readonly string[]): string[] | undefined;
  /** The value at `path`, or undefined when absent. */
  getAt(path: readonly string[]): SecretValue | undefined;
  /** Creates or replaces the value at `path`, creating mappings on the way. Throws TypeError when a step is not a mapping. */
  setAt(path: readonly string[], value: SecretValue): void;
  /** Removes the value at `path`; false when it was absent. */
  deleteAt(path: readonly string[]): boolean;
}
