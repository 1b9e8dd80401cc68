import { api } from "./client";
import { clearSession, storedRefreshToken, storeSession, type TokenPair } from "../state/session";

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | undefined;

/** Keeps a new token pair and rotates it a minute before the access token expires. */
export function signIn(tokens: TokenPair): void {
  storeSession(tokens);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refreshSession(), Math.max(10, tokens.expires_in - 60) * 1000);
}

export async function signOut(): Promise<void> {
  clearTimeout(refreshTimer);
  await api.POST("/api/v1/users/me/logout").catch(() => undefined);
  clearSession();
}

/** Exchanges the stored refresh token for a new pair; one exchange at a time (a second would be reuse). */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const token = storedRefreshToken();
    if (!token) return false;
    const { data, response } = await api
      .POST("/api/v1/auth/refresh", { body: { refresh_token: token } })
      .catch(() => ({ data: undefined, response: undefined }));
    if (!data) {
      if (response && response.status < 500) clearSession();
      return false;
    }
    signIn(data);
    return true;
  })().finally(() => (refreshing = undefined));
  return refreshing;
}
