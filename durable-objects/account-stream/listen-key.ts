// A listen key names a user's data stream (Binance: 60 alphanumerics, alive 60 minutes after its
// last keep-alive). Ours is the user's id in hex (32) and 28 random alphanumerics (~166 bits):
// the Worker routes `/ws/<listenKey>` to the user's object without a directory, and the object
// holds the one key that is valid, compared in constant time.

/** Binance's lifetime of a listen key after its last keep-alive. */
export const LISTEN_KEY_TTL_MS = 60 * 60_000;

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const RANDOM_CHARS = 28;

export const LISTEN_KEY_PATTERN = /^[0-9a-f]{32}[A-Za-z0-9]{28}$/;

/** A new listen key for the user `userId` (a UUID). */
export function newListenKey(userId: string): string {
  const hex = userId.replaceAll("-", "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error("a listen key is for a user id (UUID)");
  let random = "";
  while (random.length < RANDOM_CHARS) {
    // 248 = 4 × 62: bytes above it are dropped, so every character is equally likely.
    for (const b of crypto.getRandomValues(new Uint8Array(RANDOM_CHARS * 2))) {
      if (b < 248 && random.length < RANDOM_CHARS) random += ALPHANUMERIC[b % 62];
    }
  }
  return hex + random;
}

/** The user a well-formed listen key names (null: not one of ours). Says nothing of validity. */
export function userOfListenKey(listenKey: string): string | null {
  if (!LISTEN_KEY_PATTERN.test(listenKey)) return null;
  const h = listenKey.slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
