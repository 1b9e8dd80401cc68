import { describe, expect, it } from "vitest";
import { createApiKey, expectError, signedFetch, verifiedUser } from "./helpers";

describe("read API keys", () => {
  it("read only: a read key lists the watchlist but cannot edit it; a trade key can", async () => {
    const user = await verifiedUser();
    const readKey = await createApiKey(user.tokens.access_token, ["read"]);
    const tradeKey = await createApiKey(user.tokens.access_token, ["read", "trade"]);
    const add = JSON.stringify({ symbol: "BTC-USDT" });

    expect((await signedFetch(readKey, "GET", "/api/v1/watchlist")).status).toBe(200);
    await expectError(
      await signedFetch(readKey, "POST", "/api/v1/watchlist", add),
      403,
      "INSUFFICIENT_PERMISSION",
    );
    expect((await signedFetch(tradeKey, "POST", "/api/v1/watchlist", add)).status).toBe(200);
    await expectError(
      await signedFetch(readKey, "DELETE", "/api/v1/watchlist/BTC-USDT"),
      403,
      "INSUFFICIENT_PERMISSION",
    );
    const list = await signedFetch(readKey, "GET", "/api/v1/watchlist");
    expect(
      ((await list.json()) as { watchlist: { symbol: string }[] }).watchlist.map((w) => w.symbol),
    ).toEqual(["BTC-USDT"]);
    expect((await signedFetch(tradeKey, "DELETE", "/api/v1/watchlist/BTC-USDT")).status).toBe(200);
  });
});
