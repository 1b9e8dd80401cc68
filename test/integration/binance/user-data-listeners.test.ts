import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listeningUsers } from "../../../durable-objects/account-stream/listening-users";
import { createRedis } from "../../../src/http/resources";
import { binanceClient } from "./helpers";
import { listenKeyOf, openStream } from "./user-data-helpers";

describe("Binance user data stream: the relay reads only for users with a stream open", () => {
  it("marks a user listening while a socket is open, and not once it closes", async () => {
    const redis = createRedis(env);
    const [alice, bob] = await Promise.all([binanceClient(), binanceClient()]);
    const users = [alice.userId, bob.userId];
    expect(await listeningUsers(redis, users)).toEqual(new Set());

    const stream = await openStream(await listenKeyOf(alice));
    // Set before the socket is handed over: no event of hers can be skipped from then on.
    expect(await listeningUsers(redis, users)).toEqual(new Set([alice.userId]));

    stream.close();
    const deadline = Date.now() + 5_000;
    while ((await listeningUsers(redis, users)).size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await listeningUsers(redis, users)).toEqual(new Set());
  });
});
