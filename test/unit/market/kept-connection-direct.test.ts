import { describe, expect, it } from "vitest";
import { keptConnectionDirect } from "../../../src/db/client";

const neon = (host: string, options = "") =>
  `postgres://pandora:Np9xQ2vLr7TkZw@${host}.eu-central-1.aws.neon.tech/pandora${options}`;
const pooled = neon("ep-cool-dawn-123-pooler");

describe("keptConnectionDirect (whether the funds locks may be pipelined)", () => {
  it("is true for a direct URL beside the pooled one, and for the local stack's Postgres port", () => {
    expect(
      keptConnectionDirect({ DATABASE_URL: pooled, DATABASE_URL_DIRECT: neon("ep-cool-dawn-123") }),
    ).toBe(true);
    expect(
      keptConnectionDirect({
        DATABASE_URL: "postgres://pandora:pandora@127.0.0.1:6432/pandora",
        DATABASE_URL_DIRECT: "postgres://pandora:pandora@127.0.0.1:5432/pandora",
      }),
    ).toBe(true);
  });

  it("is false without a direct URL, with a blank or the same one, and for a pooled host", () => {
    expect(keptConnectionDirect({ DATABASE_URL: pooled })).toBe(false);
    expect(keptConnectionDirect({ DATABASE_URL: pooled, DATABASE_URL_DIRECT: "  " })).toBe(false);
    expect(keptConnectionDirect({ DATABASE_URL: pooled, DATABASE_URL_DIRECT: pooled })).toBe(false);
    const pooledAgain = neon("ep-cool-dawn-123-pooler", "?sslmode=require");
    expect(keptConnectionDirect({ DATABASE_URL: pooled, DATABASE_URL_DIRECT: pooledAgain })).toBe(false);
  });
});
