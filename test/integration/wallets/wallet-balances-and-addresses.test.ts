// Balances and deposit addresses through the API: exact decimal strings, stable addresses.
import { describe, expect, it } from "vitest";
import { api, expectError } from "../auth/helpers";
import { walletUser, addressOf, balances } from "./wallet-api";

describe("GET /api/v1/wallets and deposit addresses", () => {
  it("lists every asset with exact decimal strings, and needs a session", async () => {
    const { token } = await walletUser();
    const all = await balances(token);
    expect(all.BTC).toEqual({ asset: "BTC", available: "0.00000000", locked: "0.00000000" });
    expect(all.ETH!.available).toBe("0.000000000000000000");
    expect(all.USDT!.available).toBe("0.000000");
    await expectError(await api("GET", "/api/v1/wallets"), 401, "UNAUTHORIZED");
  });

  it("gives a stable segwit BTC address and one checksummed ETH address shared by ERC-20 tokens", async () => {
    const { token } = await walletUser();
    const btc = await addressOf(token, "BTC");
    expect(btc).toMatch(/^bc1q[02-9ac-hj-np-z]{38}$/);
    expect(await addressOf(token, "btc")).toBe(btc);
    const eth = await addressOf(token, "ETH");
    expect(eth).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(await addressOf(token, "USDT")).toBe(eth);
    const usdc = await api("GET", "/api/v1/wallets/USDC/address", { token });
    expect(await usdc.json()).toMatchObject({ address: eth, chain: "ethereum", token_standard: "ERC-20" });
    await expectError(await api("GET", "/api/v1/wallets/DOGE/address", { token }), 404, "NOT_FOUND");
  });
});
