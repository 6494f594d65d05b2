import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Interop and e2e tests start real peers (nix-instantiate, sops, a kube-apiserver);
    // two workers match the two cores of the machines we run on.
    maxWorkers: 2,
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
