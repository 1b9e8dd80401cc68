import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Three projects: pure logic in Node (fast, fuzzable); everything that touches bindings inside
// workerd against the real local stack that globalSetup starts; end-to-end against `wrangler dev`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: inject("stackBindings"),
              // The account service's RPC entrypoint, reached through a real service binding (the
              // Worker under test is wrangler.toml's top level: the development Worker's name).
              serviceBindings: { USER_SERVICE: { name: "pandora-exchange-dev", entrypoint: "UserService" } },
            },
          })),
        ],
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/setup/global-stack.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
