/**
 * Vitest global setup: when e2e tests are selected and NIXLAB_TEST_KUBECONFIG is not
 * given, starts the testbed (testbed/up.sh) and exports its kubeconfig to the tests;
 * stops it afterwards if this run started it. With NIXLAB_E2E=1 a testbed that cannot
 * start fails the run; without it the e2e tests skip.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function e2eSelected(): boolean {
  const args = process.argv.slice(2).filter((a) => !a.startsWith("-") && a !== "run" && a !== "watch");
  // A run without file filters runs everything, e2e included.
  return args.length === 0 || args.some((a) => a.includes("e2e"));
}

export default function setup(): (() => void) | undefined {
  if (process.env.NIXLAB_TEST_KUBECONFIG || !e2eSelected()) return undefined;
  const up = spawnSync("bash", [`${root}/testbed/up.sh`], { encoding: "utf8", timeout: 180_000 });
  if (up.status !== 0) {
    const why = `testbed/up.sh failed (exit ${up.status}): ${(up.stderr || up.error?.message || "").trim().split("\n").slice(-3).join(" | ")}`;
    if (process.env.NIXLAB_E2E === "1") throw new Error(`NIXLAB_E2E=1 but the testbed did not start: ${why}`);
    process.stderr.write(`e2e tests will skip: ${why}\n`);
    return undefined;
  }
  process.env.NIXLAB_TEST_KUBECONFIG = up.stdout.trim().split("\n").pop();
  const startedHere = !up.stderr.includes("already running");
  return () => {
    if (startedHere) spawnSync("bash", [`${root}/testbed/down.sh`], { stdio: "ignore" });
  };
}
