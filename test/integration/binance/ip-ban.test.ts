import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FIRST_BAN_S, ipBanKeys, REFUSALS_BEFORE_BAN } from "../../../src/binance/ip-ban";
import { createRedis } from "../../../src/http/resources";
import { randomIp } from "../auth/helpers";
import { binanceError, ok, publicGet } from "./helpers";

describe("Binance IP ban (418)", () => {
  it("bans an IP that keeps sending after 429s, for 2 minutes and then twice as long", async () => {
    const ip = randomIp();
    // depth with limit 5000 weighs 250: 24 of them use the minute's 6,000.
    const heavy = () => publicGet("/depth", { symbol: "BTCUSDT", limit: "5000" }, ip);
    for (let i = 0; i < 24; i++) await ok(heavy());
    for (let i = 1; i < REFUSALS_BEFORE_BAN; i++) await binanceError(heavy(), 429, -1003);

    const banned = await heavy();
    const body = await binanceError(banned, 418, -1003);
    const ends = Number(/IP banned until (\d+)\./.exec(body.msg)?.[1]);
    expect(body.msg).toMatch(/^Way too much request weight used; IP banned until \d+\. Please use WebSocket/);
    expect(ends - Date.now()).toBeGreaterThan((FIRST_BAN_S - 10) * 1_000);
    expect(ends - Date.now()).toBeLessThanOrEqual(FIRST_BAN_S * 1_000);
    expect(Number(banned.headers.get("retry-after"))).toBeGreaterThan(FIRST_BAN_S - 10);
    // Even the lightest request is refused while the ban lasts; other IPs are not.
    await binanceError(publicGet("/ping", {}, ip), 418, -1003);
    await ok(publicGet("/ping", {}, randomIp()));

    // The ban runs out (its key expires); the IP goes on sending: the next ban is 4 minutes.
    await createRedis(env).del(ipBanKeys(ip).ban);
    for (let i = 1; i < REFUSALS_BEFORE_BAN; i++) await binanceError(heavy(), 429, -1003);
    const again = await heavy();
    await binanceError(again, 418, -1003);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThan(2 * FIRST_BAN_S - 10);
    expect(Number(again.headers.get("retry-after"))).toBeLessThanOrEqual(2 * FIRST_BAN_S);
  });
});
