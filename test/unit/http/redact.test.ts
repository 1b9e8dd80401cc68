import { describe, expect, it } from "vitest";
import { REDACTED, redact } from "../../../src/lib/redact";

describe("redact", () => {
  it("hides secrets at any depth and keeps everything else", () => {
    const input = {
      method: "POST",
      headers: { Authorization: "Bearer abc", "x-api-signature": "ff", "content-type": "application/json" },
      body: { email: "a@b.c", password: "hunter2", nested: [{ refresh_token: "r", ok: 1 }] },
    };
    expect(redact(input)).toEqual({
      method: "POST",
      headers: { Authorization: REDACTED, "x-api-signature": REDACTED, "content-type": "application/json" },
      body: { email: "a@b.c", password: REDACTED, nested: [{ refresh_token: REDACTED, ok: 1 }] },
    });
  });
});
