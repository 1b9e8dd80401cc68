import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Three projects: pure logic in Node (fast, fuzzable); everything that touches bindings inside
// workerd against the real local stack that globalSetup starts; end-to-end against `wrangler dev`.
export default defineConfig({
  test: {
    // Two files at a time, one per core of CI's machine (vitest's default there is one): a file's
    // waits (Postgres, sockets, a rate-limit window, a timer) no longer idle the machine, and a
    // third file would only share the cores. docs/development.md#how-the-suite-runs.
    maxWorkers: 2,
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
          // Each worker keeps its workerd and the Worker's imported modules from file to file
          // (isolated, every file started a workerd and imported the Worker anew: ~3 s a file,
          // a third of the run). Files share the stack's Postgres and Redis either way, so a test
          // asserts only on what it created (its own users, markets, keys, limits).
          isolate: false,
          // One workerd: the event relay publishes every market's events from one Postgres table,
          // and a second workerd's relay would hand them to its own copies of the objects (no
          // sockets there), so a test could miss its frames. Its own group (vitest runs a group
          // of one worker apart), after the unit files.
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          // One at a time, after the other projects: each file starts a whole exchange (a stack,
          // a Worker, a browser) and some time it ("answers /ready within 60 s").
          maxWorkers: 1,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
