import { readFileSync } from "node:fs";
import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { secretProblems } from "../../../src/lib/production-secrets";

/** The variables of .dev.vars.example, as a careless operator would copy them to production. */
function exampleVars(): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(".dev.vars.example", "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

const random = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes)));

async function strongVars(): Promise<Record<string, string>> {
  const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  return {
    DATABASE_URL: "postgres://pandora:Np9xQ2vLr7TkZw@ep-cool-dawn-123.eu-central-1.aws.neon.tech/pandora",
    UPSTASH_REDIS_REST_URL: "https://eu1-pandora-12345.upstash.io",
    UPSTASH_REDIS_REST_TOKEN: random(32).toString("base64url"),
    JWT_SIGNING_KEYS: JSON.stringify([{ ...(await exportJWK(privateKey)), kid: "2026-12" }]),
    API_KEY_ENCRYPTION_KEY: random(32).toString("base64"),
    DEPOSIT_WEBHOOK_SECRET: random(32).toString("hex"),
  };
}

describe("production secrets", () => {
  it("accepts real-looking secrets", async () => {
    expect(secretProblems(await strongVars())).toEqual([]);
  });

  it("refuses every placeholder of .dev.vars.example, naming the variable and never the value", () => {
    const problems = secretProblems(exampleVars());
    for (const name of [
      "DEPOSIT_WEBHOOK_SECRET",
      "API_KEY_ENCRYPTION_KEY",
      "JWT_SIGNING_KEYS",
      "UPSTASH_REDIS_REST_TOKEN",
      "UPSTASH_REDIS_REST_URL",
      "DATABASE_URL",
      "NEON_WS_PROXY",
      "NEON_FETCH_ENDPOINT",
    ]) {
      expect(
        problems.some((p) => p.startsWith(name)),
        name,
      ).toBe(true);
    }
    expect(problems.join("\n")).not.toContain("change-me");
  });

  it("refuses a webhook secret under 32 bytes or without randomness, missing secrets, a weak AES key", async () => {
    const strong = await strongVars();
    const cases: [Record<string, string>, string][] = [
      [{ DEPOSIT_WEBHOOK_SECRET: "a".repeat(31) }, "DEPOSIT_WEBHOOK_SECRET must be at least 32 bytes"],
      [{ DEPOSIT_WEBHOOK_SECRET: "ab".repeat(20) }, "DEPOSIT_WEBHOOK_SECRET is not random"],
      [{ DEPOSIT_WEBHOOK_SECRET: "" }, "DEPOSIT_WEBHOOK_SECRET is not set"],
      [{ API_KEY_ENCRYPTION_KEY: Buffer.alloc(32).toString("base64") }, "API_KEY_ENCRYPTION_KEY"],
      [{ API_KEY_ENCRYPTION_KEY: random(16).toString("base64") }, "API_KEY_ENCRYPTION_KEY"],
      [{ JWT_SIGNING_KEYS: '[{"kty":"OKP","crv":"Ed25519","kid":"k1"}]' }, "JWT_SIGNING_KEYS"],
      [{ DATABASE_URL: "postgres://pandora:pandora@127.0.0.1:55434/pandora" }, "DATABASE_URL"],
      [{ DATABASE_URL_DIRECT: "postgres://pandora:pandora@127.0.0.1:55432/pandora" }, "DATABASE_URL_DIRECT"],
    ];
    for (const [change, expected] of cases) {
      expect(secretProblems({ ...strong, ...change }).join("\n")).toContain(expected);
    }
  });

  it("takes a direct connection string of DATABASE_URL's database only", async () => {
    const strong = await strongVars();
    const neon = (host: string, user = "pandora", database = "pandora") =>
      `postgres://${user}:Np9xQ2vLr7TkZw@${host}.eu-central-1.aws.neon.tech/${database}`;
    const pooled = { ...strong, DATABASE_URL: neon("ep-cool-dawn-123-pooler") };
    expect(secretProblems({ ...pooled, DATABASE_URL_DIRECT: neon("ep-cool-dawn-123") })).toEqual([]);
    expect(secretProblems({ ...strong, DATABASE_URL_DIRECT: neon("ep-cool-dawn-123") })).toEqual([]);
    for (const other of [
      neon("ep-other-moon-456"),
      neon("ep-cool-dawn-123", "admin"),
      neon("ep-cool-dawn-123", "pandora", "staging"),
    ]) {
      expect(secretProblems({ ...pooled, DATABASE_URL_DIRECT: other }).join("\n"), other).toContain(
        "DATABASE_URL_DIRECT is not DATABASE_URL's database",
      );
    }
    // The pooled host again (a different string only by its options): the locks would be
    // pipelined through the pooler (docs/decisions/0023).
    const again = `${neon("ep-cool-dawn-123-pooler")}?sslmode=require`;
    expect(secretProblems({ ...pooled, DATABASE_URL_DIRECT: again }).join("\n")).toContain(
      "DATABASE_URL_DIRECT names Neon's pooled host",
    );
  });
});
