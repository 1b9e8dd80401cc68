import type { Database } from "../../db/client";
import { assertIpAllowed, findLiveApiKey } from "../../services/auth/api-keys";
import { apiKeyFormat, apiKeyRejected } from "../binance-errors";

/**
 * Binance's USER_STREAM security: an API key (`X-MBX-APIKEY`, or `apiKey` on the WebSocket API)
 * and no signature. The key must be live, of a live unbanned user, and allowed from the
 * caller's address. Returns the key's user id.
 */
export async function userStreamOwner(
  db: Database,
  keyId: string | undefined,
  ip: string | null,
): Promise<string> {
  if (!keyId || !/^[A-Za-z0-9_-]{1,64}$/.test(keyId)) throw apiKeyFormat();
  const found = await findLiveApiKey(db, keyId);
  if (!found || found.user.status === "banned") throw apiKeyRejected();
  assertIpAllowed(found.key, ip);
  return found.user.id;
}
