import { describe, it } from "vitest";
import { api, expectError, verifiedUser } from "../auth/helpers";

/** Malformed cursors are the client's mistake: a 400, never a 500 from Postgres. */
describe("listing cursors out of range", () => {
  it("refuses a transactions cursor beyond bigint with a 400", async () => {
    const { tokens } = await verifiedUser();
    const res = await api("GET", "/api/v1/wallets/transactions?cursor=9999999999999999999", {
      token: tokens.access_token,
    });
    await expectError(res, 400);
  });

  it("refuses a time cursor whose id is not a uuid with a 400", async () => {
    const { tokens } = await verifiedUser();
    const cursor = btoa(`2026-11-22T03:00:00.000Z|${"-".repeat(36)}`).replaceAll("=", "");
    for (const path of ["withdrawals", "deposits"]) {
      const res = await api("GET", `/api/v1/wallets/${path}?cursor=${cursor}`, {
        token: tokens.access_token,
      });
      await expectError(res, 400);
    }
  });

  it("refuses a time cursor with a year Postgres cannot read with a 400", async () => {
    const { tokens } = await verifiedUser();
    const cursor = btoa(`+100000-01-01T00:00:00.000Z|${crypto.randomUUID()}`).replaceAll("=", "");
    const res = await api("GET", `/api/v1/wallets/withdrawals?cursor=${cursor}`, {
      token: tokens.access_token,
    });
    await expectError(res, 400);
  });
});

describe("listing cursors that are not numbers", () => {
  it("refuses a non-numeric transactions cursor with a 400", async () => {
    const { tokens } = await verifiedUser();
    const res = await api("GET", "/api/v1/wallets/transactions?cursor=12ab", { token: tokens.access_token });
    await expectError(res, 400);
  });
});
