import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { hmacSha256Hex, signaturePayload } from "../../../src/lib/api-key-crypto";
import { authenticate } from "../../../src/middleware/authenticate";
import { account, api, expectError, login, PASSWORD, verifiedUser } from "./helpers";

interface CreatedKey {
  id: string;
  key: string;
  secret: string;
  permissions: string[];
}

// The real application plus stand-ins for the trading and withdrawal routes that other
// capabilities will mount with the same middleware.
const app = createApp();
app.post("/__test/orders", authenticate({ permission: "trade" }), (c) =>
  c.json({ placed: true, by: c.get("principal").via }),
);
app.post("/__test/withdrawals", authenticate({ permission: "withdraw" }), (c) => c.json({ ok: true }));

async function call(path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.request(path, init, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function signed(
  key: CreatedKey,
  method: string,
  path: string,
  body = "",
  opts: { timestamp?: number; signedBody?: string; ip?: string } = {},
): Promise<RequestInit> {
  const timestamp = String(opts.timestamp ?? Date.now());
  const signature = await hmacSha256Hex(
    key.secret,
    signaturePayload(timestamp, method, path, opts.signedBody ?? body),
  );
  const headers: Record<string, string> = {
    "x-api-key": key.key,
    "x-api-timestamp": timestamp,
    "x-api-signature": signature,
  };
  if (body) headers["content-type"] = "application/json";
  if (opts.ip) headers["cf-connecting-ip"] = opts.ip;
  return { method, headers, body: body || undefined };
}

describe("API keys", () => {
  let token: string;
  let readKey: CreatedKey;
  let tradeKey: CreatedKey;

  async function createKey(permissions: string[], extra: Record<string, unknown> = {}): Promise<CreatedKey> {
    const res = await api("POST", "/api/v1/users/me/api-keys", {
      token,
      body: { label: "bot", permissions, current_password: PASSWORD, ...extra },
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { api_key: CreatedKey }).api_key;
  }

  beforeAll(async () => {
    token = (await verifiedUser()).tokens.access_token;
    readKey = await createKey(["read"]);
    tradeKey = await createKey(["read", "trade"]);
  });

  it("shows the secret once; lists keys without it; stores it encrypted", async () => {
    expect(readKey.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const list = await api("GET", "/api/v1/users/me/api-keys", { token });
    const text = await list.text();
    expect(text).toContain(readKey.key);
    expect(text).not.toContain(readKey.secret);
  });

  it("a correctly signed request works where the permission covers it", async () => {
    const res = await call("/api/v1/users/me", await signed(readKey, "GET", "/api/v1/users/me"));
    expect(res.status).toBe(200);
    const order = JSON.stringify({ market: "BTC-USDT" });
    const placed = await call(
      "/__test/orders?x=1",
      await signed(tradeKey, "POST", "/__test/orders?x=1", order),
    );
    expect(await placed.json()).toEqual({ placed: true, by: "api_key" });
  });

  it("refuses a signature over another body", async () => {
    const init = await signed(tradeKey, "POST", "/__test/orders", '{"qty":"1"}', {
      signedBody: '{"qty":"100"}',
    });
    await expectError(await call("/__test/orders", init), 401, "INVALID_API_SIGNATURE");
  });

  it("refuses a timestamp outside the window, either side", async () => {
    for (const timestamp of [Date.now() - 6_000, Date.now() + 6_000]) {
      const init = await signed(readKey, "GET", "/api/v1/users/me", "", { timestamp });
      await expectError(await call("/api/v1/users/me", init), 401, "INVALID_API_SIGNATURE");
    }
  });

  it("refuses a replay of the same signed request", async () => {
    const init = await signed(readKey, "GET", "/api/v1/users/me");
    expect((await call("/api/v1/users/me", init)).status).toBe(200);
    await expectError(await call("/api/v1/users/me", init), 401, "API_REQUEST_REPLAYED");
  });

  it("a read key cannot trade, a trade key cannot withdraw", async () => {
    await expectError(
      await call("/__test/orders", await signed(readKey, "POST", "/__test/orders", "{}")),
      403,
      "INSUFFICIENT_PERMISSION",
    );
    await expectError(
      await call("/__test/withdrawals", await signed(tradeKey, "POST", "/__test/withdrawals", "{}")),
      403,
      "INSUFFICIENT_PERMISSION",
    );
  });

  it("no key can change the profile, manage keys or use admin routes", async () => {
    const ip = "203.0.113.9";
    const everything = await createKey(["read", "trade", "withdraw"], { ip_allowlist: [ip] });
    const body = JSON.stringify({ first_name: "Bot" });
    await expectError(
      await call("/api/v1/users/me", await signed(everything, "PATCH", "/api/v1/users/me", body, { ip })),
      403,
    );
    const keyBody = JSON.stringify({ label: "x", permissions: ["read"], current_password: PASSWORD });
    await expectError(
      await call(
        "/api/v1/users/me/api-keys",
        await signed(everything, "POST", "/api/v1/users/me/api-keys", keyBody, { ip }),
      ),
      403,
    );
    await expectError(
      await call("/api/v1/admin/users", await signed(everything, "GET", "/api/v1/admin/users", "", { ip })),
      403,
    );
  });

  it("enforces the IP allow-list", async () => {
    const pinned = await createKey(["read"], { ip_allowlist: ["203.0.113.7"] });
    expect(
      (
        await call(
          "/api/v1/users/me",
          await signed(pinned, "GET", "/api/v1/users/me", "", { ip: "203.0.113.7" }),
        )
      ).status,
    ).toBe(200);
    await expectError(
      await call(
        "/api/v1/users/me",
        await signed(pinned, "GET", "/api/v1/users/me", "", { ip: "198.51.100.1" }),
      ),
      401,
      "INVALID_API_SIGNATURE",
    );
  });

  it("a revoked key stops working", async () => {
    const temp = await createKey(["read"]);
    expect((await api("DELETE", `/api/v1/users/me/api-keys/${temp.id}`, { token })).status).toBe(204);
    await expectError(await call("/api/v1/users/me", await signed(temp, "GET", "/api/v1/users/me")), 401);
    await expectError(await api("DELETE", `/api/v1/users/me/api-keys/${temp.id}`, { token }), 404);
  });

  it("an unverified user cannot create keys", async () => {
    const user = await account();
    const pair = await login(user.email);
    await expectError(
      await api("POST", "/api/v1/users/me/api-keys", {
        token: pair.access_token,
        body: { label: "bot", permissions: ["read"], current_password: PASSWORD },
      }),
      403,
      "EMAIL_NOT_VERIFIED",
    );
  });
});
