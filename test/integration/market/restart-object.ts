import { runInDurableObject } from "cloudflare:test";

/** Resets an object as an eviction or redeploy would: memory gone, storage kept; the next call builds it anew. */
export async function restartObject(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, (_instance, state) => {
    try {
      state.abort("test restart");
    } catch {}
  }).catch(() => {});
}
