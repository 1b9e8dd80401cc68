import type { AccountStream } from "../../../durable-objects/account-stream/account-stream";

/** The user's account-stream object: the fan-in of their private events to their sockets. */
export function accountStream(env: Env, userId: string): DurableObjectStub<AccountStream> {
  return env.ACCOUNT_STREAM.get(env.ACCOUNT_STREAM.idFromName(userId));
}
