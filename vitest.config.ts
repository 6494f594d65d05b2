import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Interop and e2e tests start real peers (nix-instantiate, sops, a kube-apiserver);
    // two workers match the two cores of the machines we run on.
    maxWorkers: 2,
    // Makes the CLI bundle fresh (the tests spawn bin/nixlab.js), and starts the e2e
    // testbed (testbed/up.sh) when e2e tests run without NIXLAB_TEST_KUBECONFIG.
    globalSetup: ["./test/support/bundle-setup.ts", "./test/e2e/global-setup.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
