import { describe, expect, it } from "vitest";
import { api, PASSWORD, randomIp, register } from "./helpers";

describe("token responses", () => {
  it("login and refresh answers (and their refusals) say Cache-Control: no-store", async () => {
    const user = await register();
    const signedIn = await api("POST", "/api/v1/auth/login", {
      body: { email: user.email, password: PASSWORD },
      ip: randomIp(),
    });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get("cache-control")).toBe("no-store");
    const { refresh_token } = (await signedIn.json()) as { refresh_token: string };
    const refreshed = await api("POST", "/api/v1/auth/refresh", { body: { refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get("cache-control")).toBe("no-store");
    const refused = await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: "nope" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("cache-control")).toBe("no-store");
  });
});
