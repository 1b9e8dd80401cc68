import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/client";
import { users } from "../../src/db/schema";
import worker from "../../src/index";
import { account, login } from "./auth/helpers";
import { hasErrorShape, probesOf, type Doc, type Probe } from "./openapi-probes";

// Every operation of /openapi.json, sent malformed input by an anonymous caller, a user and an
// admin: bad ids in every path parameter, wrong types and control characters in every query
// parameter and in every field of the body (NUL and other C0/C1 controls), broken JSON. Every
// answer must be below 500 and, when it is an error, carry the one JSON error shape.
//
// Systematic, not random: each variant is derived from the operation's own schema, so a new
// route is swept as soon as it is declared. A caller refused up front (401/403 on a well-formed
// request) gets a sample of the variants only: its answers cannot depend on the input.

/** The sweep's callers get room under the per-user limit, so their requests reach validation. */
const sweepEnv = { ...env, RATE_LIMIT_USER_PER_MINUTE: "1000000" } as Env;

async function send(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, sweepEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Session-ending operations run last for each caller, so the rest is swept signed in. */
const ENDS_SESSION = /\/logout/;

async function adminToken(): Promise<string> {
  const admin = await account();
  await withDatabase(env, (db) => db.update(users).set({ role: "admin" }).where(eq(users.id, admin.id)));
  return (await login(admin.email)).access_token;
}

describe("malformed input on every operation", () => {
  it("never answers 5xx, and every error carries the JSON error shape", { timeout: 180_000 }, async () => {
    const doc = (await (await send(new Request("http://x/openapi.json"))).json()) as Doc;
    const operations = Object.entries(doc.paths)
      .flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([method]) => ["get", "post", "put", "patch", "delete"].includes(method))
          .map(([method, op]) => ({ path, method, op })),
      )
      .sort((a, b) => Number(ENDS_SESSION.test(a.path)) - Number(ENDS_SESSION.test(b.path)));
    expect(operations.length).toBeGreaterThan(50);

    const user = await account();
    const callers: { name: string; token: string | null }[] = [
      { name: "anonymous", token: null },
      { name: "user", token: (await login(user.email)).access_token },
      { name: "admin", token: await adminToken() },
    ];
    const failures: string[] = [];
    let sent = 0;
    const statuses = new Map<string, number>();
    const started = Date.now();

    const check = async (caller: { name: string; token: string | null }, probe: Probe): Promise<number> => {
      const headers: Record<string, string> = { "idempotency-key": crypto.randomUUID() };
      if (caller.token) headers.authorization = `Bearer ${caller.token}`;
      if (probe.body !== undefined) headers["content-type"] = "application/json";
      let res: Response;
      try {
        res = await send(new Request(probe.url, { method: probe.method, headers, body: probe.body }));
      } catch (err) {
        // The URL itself may be one a client cannot send (fetch refuses it): not the Worker's answer.
        if (err instanceof TypeError) return 0;
        throw err;
      }
      sent++;
      const key = `${caller.name} ${res.status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      const where = `${caller.name} ${probe.method} ${new URL(probe.url).pathname.slice(0, 80)} [${probe.label}]`;
      const text = await res.text();
      if (res.status >= 500) failures.push(`${where} → ${res.status} ${text.slice(0, 200)}`);
      else if (res.status >= 400) {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (!hasErrorShape(new URL(probe.url).pathname, body)) {
          failures.push(`${where} → ${res.status} without the error shape: ${text.slice(0, 200)}`);
        }
      }
      return res.status;
    };

    for (const caller of callers) {
      for (const { path, method, op } of operations) {
        const { base, variants } = probesOf(doc, path, method, op);
        const status = await check(caller, base);
        // Refused before the input is read: a sample shows it stays refused whatever the input.
        const sampled = status === 401 || status === 403 ? variants.filter((_, i) => i % 8 === 0) : variants;
        const queue = [...sampled];
        await Promise.all(
          Array.from({ length: 6 }, async () => {
            for (let probe = queue.shift(); probe; probe = queue.shift()) await check(caller, probe);
          }),
        );
      }
    }
    console.log(
      `malformed-input sweep: ${sent} requests over ${operations.length} operations in ${Date.now() - started} ms`,
      Object.fromEntries([...statuses].sort()),
    );
    expect(failures, failures.slice(0, 40).join("\n")).toEqual([]);
    expect(sent).toBeGreaterThan(1_000);
  });
});
