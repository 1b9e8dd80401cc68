import { signal } from "@preact/signals";
import type { components } from "../api/schema";

export type TokenPair = components["schemas"]["TokenPair"];
export type User = components["schemas"]["User"];

export interface Session {
  accessToken: string;
  user: User;
}

/** The signed-in user, or null. The access token lives in memory only. */
export const session = signal<Session | null>(null);

// The refresh token survives a reload of this tab only (sessionStorage, not shared by tabs):
// two tabs refreshing one token would count as reuse and end the session.
const REFRESH_KEY = "pandora.refresh";

export function storeSession(tokens: TokenPair): void {
  sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  session.value = { accessToken: tokens.access_token, user: tokens.user };
}

export function storedRefreshToken(): string | null {
  return sessionStorage.getItem(REFRESH_KEY);
}

export function clearSession(): void {
  sessionStorage.removeItem(REFRESH_KEY);
  session.value = null;
}
