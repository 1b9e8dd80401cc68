import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { users } from "../../../src/db/schema";
import { DEFAULT_ARGON2, hashPassword } from "../../../src/lib/password-hash";
import { dummyHash } from "../../../src/services/auth/dummy-hash";

describe("the dummy hash of unknown emails", () => {
  it("uses the weakest parameters a stored hash still has, so no real account answers faster", async () => {
    // An account last signed in when the cost was lower (OWASP's m=7168,t=5 equivalent).
    const legacy = await hashPassword("an old sturdy passphrase", { m: 7168, t: 5, p: 1 });
    await withDatabase(env, (db) =>
      db.insert(users).values({
        email: `legacy-${crypto.randomUUID()}@example.test`,
        firstName: "Old",
        lastName: "Timer",
        passwordHash: legacy,
      }),
    );
    // The isolate reads the weakest parameters at most every ten minutes, and an earlier file in
    // this isolate may have read them before this account existed: ten minutes pass first.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 10 * 60_000 + 1_000 });
    let dummy: string;
    try {
      dummy = await withDatabase(env, (db) => dummyHash(db, DEFAULT_ARGON2));
    } finally {
      vi.useRealTimers();
    }
    expect(dummy).toMatch(/^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
  });
});
