import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { UserService } from "../../../src/rpc/user-service";
import { login, register, uniqueEmail } from "./helpers";

// USER_SERVICE is a service binding to this Worker's `UserService` entrypoint (vitest.config.ts),
// exactly what another Worker declares with [[services]] ... entrypoint = "UserService".
const users = (env as unknown as { USER_SERVICE: Service<UserService> }).USER_SERVICE;

describe("UserService RPC through a service binding", () => {
  it("gets users by id and email, validates tokens, updates KYC and lists", async () => {
    const email = uniqueEmail("rpc");
    const created = await register(email);
    const byId = await users.getUser(created.id);
    expect(byId).toMatchObject({ ok: true, user: { id: created.id, email, kyc_status: "pending" } });
    const byEmail = await users.getUserByEmail(email.toUpperCase());
    expect(byEmail).toMatchObject({ ok: true, user: { id: created.id } });
    expect(await users.getUser(crypto.randomUUID())).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
    expect(await users.getUser("not-a-uuid")).toMatchObject({
      ok: false,
      error: { code: "INVALID_ARGUMENT" },
    });

    const pair = await login(email);
    const valid = await users.validateToken(pair.access_token);
    expect(valid).toMatchObject({
      ok: true,
      user: { id: created.id },
      claims: { sub: created.id, role: "user" },
    });
    expect(await users.validateToken(pair.access_token + "x")).toMatchObject({
      ok: false,
      error: { code: "INVALID_TOKEN" },
    });

    const kyc = await users.updateKycStatus(created.id, "rejected", "document unreadable", null);
    expect(kyc).toMatchObject({
      ok: true,
      user: { kyc_status: "rejected", kyc_reason: "document unreadable" },
    });
    expect(await users.updateKycStatus(created.id, "rejected", null, null)).toMatchObject({
      ok: false,
      error: { code: "INVALID_ARGUMENT" },
    });

    const list = await users.listUsers({ q: email, kyc_status: "rejected" }, { page: 1, page_size: 10 });
    expect(list).toMatchObject({ ok: true, total: 1, users: [{ id: created.id }] });
  });
});
