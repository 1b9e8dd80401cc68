import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, expectError, login, register } from "./helpers";

describe("control characters in text", () => {
  it("a NUL or another control character in a profile name is a 422 naming the field, never a 500", async () => {
    const user = await register();
    const token = (await login(user.email)).access_token;
    for (const [field, value] of [
      ["first_name", "Eve\u0000"],
      ["last_name", "a\u0007b"],
      ["first_name", "tab\there"],
      ["last_name", "x\u009by"],
    ] as const) {
      const body = await expectError(
        await api("PATCH", "/api/v1/users/me", { token, body: { [field]: value } }),
        422,
        "VALIDATION_FAILED",
      );
      expect(JSON.stringify(body.error.details)).toContain(field);
    }
    const me = (await (await api("GET", "/api/v1/users/me", { token })).json()) as {
      user: { first_name: string; last_name: string };
    };
    expect(me.user).toMatchObject({ first_name: "Test", last_name: "User" });
    // Printable Unicode is a name like any other.
    expect((await api("PATCH", "/api/v1/users/me", { token, body: { first_name: "Zoë 李" } })).status).toBe(
      200,
    );
  });

  it("a NUL in a query string is a 400, never a 500 (the admin search and audit filters)", async () => {
    const admin = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
    for (const path of ["/api/v1/admin/users?q=%00", "/api/v1/admin/audit-logs?action=a%00b"]) {
      await expectError(await api("GET", path, { token: admin }), 400, "BAD_REQUEST");
    }
  });
});
