import { describe, expect, it } from "vitest";
import { api, expectError, login, register, uniqueEmail } from "./helpers";

const registration = (email: string, password: string) =>
  api("POST", "/api/v1/auth/register", { body: { email, password, first_name: "Pat", last_name: "Doe" } });

describe("password policy over HTTP", () => {
  it("refuses common passwords deep in the list, the product's name and the email's local part", async () => {
    for (const password of ["sunshine1", "1qaz2wsx3edc", "cytuehjxrf", "Pandora2024!", "exchange-12"]) {
      const body = await expectError(await registration(uniqueEmail(), password), 422, "VALIDATION_FAILED");
      expect(JSON.stringify(body.error.details), password).toContain("password");
    }
    const local = `maxwell${crypto.randomUUID().slice(0, 4)}`;
    await expectError(await registration(`${local}@example.test`, `${local}!2024`), 422, "VALIDATION_FAILED");
    expect((await registration(`${local}@example.test`, "a sturdy passphrase of mine")).status).toBe(201);
  });

  it("a new password built on the email's local part is refused on change too", async () => {
    const user = await register();
    const token = (await login(user.email)).access_token;
    const local = user.email.split("@")[0]!;
    await expectError(
      await api("POST", "/api/v1/users/me/password", {
        token,
        body: { current_password: user.password, new_password: `${local}!` },
      }),
      422,
      "VALIDATION_FAILED",
    );
  });
});
