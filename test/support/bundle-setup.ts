/**
 * Vitest global setup: makes the CLI bundle (dist/) fresh once before the tests, so that
 * tests spawning bin/nixlab.js in parallel do not each bundle the sources anew.
 */
import { ensureBundle } from "../../scripts/bundle-cli.js";

export default async function setup(): Promise<void> {
  await ensureBundle();
}
