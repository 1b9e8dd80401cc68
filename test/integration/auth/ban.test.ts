import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SESSION_RECHECK_MS } from "../../../durable-objects/market/ws/socket-sessions";
import { WsClient } from "../market/ws-client";
import { api, createApiKey, expectError, login, PASSWORD, signedFetch, verifiedUser } from "./helpers";

async function adminToken(): Promise<string> {
  return (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
}

async function setStatus(token: string, userId: string, status: unknown): Promise<Response> {
  return api("PATCH", `/api/v1/admin/users/${userId}/status`, { token, body: { status } });
}

describe("banned accounts", () => {
  it("are refused everywhere with 403 ACCOUNT_BANNED until reinstated", async () => {
    const admin = await adminToken();
    const user = await verifiedUser();
    const token = user.tokens.access_token;
    const key = await createApiKey(token, ["read"]);
    expect((await api("GET", "/api/v1/users/me", { token })).status).toBe(200); // fills the session cache
    const socket = await WsClient.connect("BTC-USDT");
    socket.send({ op: "auth", id: 1, token });
    await socket.next((f) => f.type === "authenticated");
    // Authenticated at the upgrade: a trader's socket, accepted without hibernation (decision 0020).
    const traderSocket = await WsClient.connect("BTC-USDT", token);
    for (const s of [socket, traderSocket]) {
      s.send({ op: "subscribe", id: 2, channels: ["orders"] });
      await s.next((f) => f.type === "subscribed");
    }

    const banned = await setStatus(admin, user.id, "banned");
    expect(banned.status).toBe(200);
    expect(((await banned.json()) as { user: { status: string } }).user.status).toBe("banned");

    // HTTP with the access token (its cached session snapshot included), refresh, login, API key.
    await expectError(await api("GET", "/api/v1/users/me", { token }), 403, "ACCOUNT_BANNED");
    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: user.tokens.refresh_token } }),
      403,
      "ACCOUNT_BANNED",
    );
    await expectError(
      await api("POST", "/api/v1/auth/login", { body: { email: user.email, password: PASSWORD } }),
      403,
      "ACCOUNT_BANNED",
    );
    // A wrong password learns nothing of the ban.
    await expectError(
      await api("POST", "/api/v1/auth/login", { body: { email: user.email, password: "not the password" } }),
      401,
      "INVALID_CREDENTIALS",
    );
    await expectError(await signedFetch(key, "GET", "/api/v1/wallets"), 403, "ACCOUNT_BANNED");

    // Sockets: the open ones lose their private channels; a new auth and an upgrade are refused.
    for (const s of [socket, traderSocket]) {
      expect(await s.next((f) => f.code === "ACCOUNT_BANNED", 0, SESSION_RECHECK_MS + 7_000)).toMatchObject({
        type: "error",
        channels: ["orders:BTC-USDT"],
      });
    }
    traderSocket.close();
    socket.send({ op: "auth", id: 3, token });
    expect(await socket.next((f) => f.id === 3)).toMatchObject({ type: "error", code: "ACCOUNT_BANNED" });
    socket.close();
    const upgrade = await SELF.fetch("http://x/api/v1/ws?market=BTC-USDT", {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${token}` },
    });
    await expectError(upgrade, 403, "ACCOUNT_BANNED");

    // Reinstated: the same credentials work again (the refused refresh rotated nothing).
    expect((await setStatus(admin, user.id, "active")).status).toBe(200);
    expect((await api("GET", "/api/v1/users/me", { token })).status).toBe(200);
    expect((await signedFetch(key, "GET", "/api/v1/wallets")).status).toBe(200);
    const refreshed = await api("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: user.tokens.refresh_token },
    });
    expect(refreshed.status).toBe(200);
  });

  it("only admins ban, never themselves; bad input is a 4xx", async () => {
    const admin = await adminToken();
    const user = await verifiedUser();
    await expectError(await setStatus(user.tokens.access_token, user.id, "banned"), 403, "FORBIDDEN");
    await expectError(await setStatus(admin, user.id, "suspended"), 422, "VALIDATION_FAILED");
    await expectError(await setStatus(admin, crypto.randomUUID(), "banned"), 404, "NOT_FOUND");
    const me = (await (await api("GET", "/api/v1/users/me", { token: admin })).json()) as {
      user: { id: string };
    };
    await expectError(await setStatus(admin, me.user.id, "banned"), 409, "CONFLICT");
  });
});
