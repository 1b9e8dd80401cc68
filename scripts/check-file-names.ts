/**
 * `npm run lint`: one name per concept, for files. No two files under src/ and durable-objects/
 * share a name, unless they are one concept at two layers (its table, its use case, its route)
 * and say so here: each allowed name lists its exact files and the layers they are. A new file
 * that takes an existing name fails until it is renamed or added here with its reason.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const ROOTS = ["src", "durable-objects"];

/** Names any folder may use: a module's entry point and a folder's guide. */
const ANY_FOLDER: Record<string, string> = {
  "index.ts": "a module's entry point",
  "README.md": "a folder's guide",
};

/** One concept at several layers: the files, and the layers they are. */
const LAYERS: Record<string, { files: string[]; layers: string }> = {
  "account.ts": {
    files: ["src/binance/account.ts", "src/binance/routes/account.ts"],
    layers: "Binance account endpoints: functions (REST and WebSocket API) / REST routes",
  },
  "amend-order.ts": {
    files: ["src/domain/market/amend-order.ts", "src/services/trading/amend-order.ts"],
    layers: "amending an order: the rules / the use case over RPC",
  },
  "api-keys.ts": {
    files: ["src/db/schema/api-keys.ts", "src/routes/api-keys.ts", "src/services/auth/api-keys.ts"],
    layers: "API keys: table / route / service",
  },
  "event-outbox.ts": {
    files: ["src/db/schema/event-outbox.ts", "src/domain/events/event-outbox.ts"],
    layers: "the event outbox: table / writer and relay",
  },
  "markets.ts": {
    files: ["src/db/schema/markets.ts", "src/routes/markets.ts", "src/services/markets.ts"],
    layers: "markets: table / route / service",
  },
  "order-limits.ts": {
    files: ["src/domain/market/order-limits.ts", "src/routes/order-limits.ts"],
    layers: "order-entry limits: the rules / route",
  },
  "order-lists.ts": {
    files: ["src/binance/order-lists.ts", "src/binance/routes/order-lists.ts"],
    layers: "Binance order lists: functions (REST and WebSocket API) / REST routes",
  },
  "password-reset.ts": {
    files: [
      "src/db/schema/password-reset.ts",
      "src/routes/password-reset.ts",
      "src/services/auth/password-reset.ts",
    ],
    layers: "password reset: table / route / service",
  },
  "portfolio.ts": {
    files: ["src/routes/portfolio.ts", "src/services/trading/portfolio.ts"],
    layers: "the portfolio: route / service",
  },
  "rate-limit.ts": {
    files: ["src/middleware/rate-limit.ts", "src/services/auth/rate-limit.ts"],
    layers: "rate limits: request middleware / the Redis counters",
  },
  "sessions.ts": {
    files: ["src/db/schema/sessions.ts", "src/services/auth/sessions.ts"],
    layers: "sessions: table / service",
  },
  "trading.ts": {
    files: ["src/binance/routes/trading.ts", "src/db/schema/trading.ts"],
    layers: "orders and trades: Binance's trading routes / tables",
  },
  "two-factor.ts": {
    files: ["src/db/schema/two-factor.ts", "src/routes/two-factor.ts", "src/services/auth/two-factor.ts"],
    layers: "two-factor authentication: table / route / service",
  },
  "wallets.ts": {
    files: ["src/db/schema/wallets.ts", "src/routes/wallets.ts"],
    layers: "wallets: table / route",
  },
  "withdrawal-addresses.ts": {
    files: [
      "src/db/schema/withdrawal-addresses.ts",
      "src/routes/withdrawal-addresses.ts",
      "src/services/withdrawal-addresses.ts",
    ],
    layers: "the withdrawal address book: table / route / service",
  },
};

/** Tracked and untracked-but-not-ignored files under the roots, repo-relative. */
function files(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", ...ROOTS], {
    encoding: "utf8",
  });
  return out.split("\n").filter((file) => file !== "" && existsSync(file));
}

const byName = new Map<string, string[]>();
for (const file of files()) {
  const name = path.basename(file);
  byName.set(name, [...(byName.get(name) ?? []), file]);
}

const problems: string[] = [];
for (const [name, places] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
  if (places.length < 2 || name in ANY_FOLDER) continue;
  const allowed = LAYERS[name];
  const extra = places.filter((file) => !allowed?.files.includes(file));
  if (extra.length > 0) problems.push(`  ${name}: ${places.join(", ")}`);
}
// An entry whose files are gone or renamed would allow a name nobody checks any more.
for (const [name, { files: listed }] of Object.entries(LAYERS)) {
  const present = byName.get(name) ?? [];
  if (listed.some((file) => !present.includes(file)) || present.length < 2)
    problems.push(
      `  ${name}: the allow-list names ${listed.join(", ")}, the tree has ${present.join(", ") || "none"}`,
    );
}

if (problems.length > 0) {
  console.error(
    "File names used twice under src/ and durable-objects/ (rename one, or, if they are one concept at two layers, list them in scripts/check-file-names.ts with the layers):",
  );
  for (const line of problems) console.error(line);
  process.exit(1);
}
const shared = Object.keys(LAYERS).length;
console.log(
  `File names: each used once, ${shared} shared by one concept's layers, index.ts and README.md aside.`,
);
