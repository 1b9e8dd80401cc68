import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { session } from "../state/session";

export type Schemas = components["schemas"];
export type ApiErrorBody = Schemas["Error"];

/** The typed client of the Worker's own API (same origin). Adds the session's bearer token. */
export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    const token = session.value?.accessToken;
    if (token && !request.headers.has("authorization"))
      request.headers.set("authorization", `Bearer ${token}`);
    return request;
  },
});

/** The API's error message (and code) for display; the body is the API's one error shape. */
export function errorMessage(error: unknown): string {
  const body = error as Partial<ApiErrorBody> | undefined;
  return body?.error?.message ?? "The request failed; try again";
}

export function errorCode(error: unknown): string | undefined {
  return (error as Partial<ApiErrorBody> | undefined)?.error?.code;
}
