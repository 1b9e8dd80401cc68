import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { errorMessage, log } from "./log";
import { startNeonWsProxy, type NeonWsProxyOptions, type RunningNeonWsProxy } from "./neon-ws-proxy";

/**
 * The Neon WebSocket proxy on a thread of its own: in the supervisor's thread a large request of
 * the Upstash shim (~3 ms to parse a relay's 200 KB EVAL) held every Postgres byte queued behind
 * it, and the market objects' funds locks wait on those bytes. Neon's proxy is a service apart in
 * production; here it shares the process (its CPU still counts as the stack's), not the event loop.
 */
export function startNeonWsProxyThread(options: NeonWsProxyOptions): Promise<RunningNeonWsProxy> {
  return new Promise((resolve, reject) => {
    // The thread loads this file through tsx's API: the parent's `--import tsx` does not reach it.
    const load = `import("tsx/esm/api").then(({ tsImport }) => tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)}))`;
    const worker = new Worker(load, { eval: true, workerData: options });
    // Once started, an error of the thread is said, not lost (rejecting then does nothing).
    worker.on("error", (err) => {
      log(`ws-proxy thread: ${errorMessage(err)}`);
      reject(err);
    });
    const exited = new Promise((done) => worker.once("exit", done));
    worker.once("message", (message: { port?: number; error?: string }) => {
      if (message.error !== undefined) {
        void worker.terminate();
        reject(new Error(message.error));
        return;
      }
      resolve({
        port: message.port!,
        close: async () => {
          worker.postMessage("close");
          await exited;
        },
      });
    });
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  startNeonWsProxy(workerData as NeonWsProxyOptions).then(
    (proxy) => {
      port.postMessage({ port: proxy.port });
      port.once("message", () => void proxy.close().then(() => port.close()));
    },
    (err: unknown) => port.postMessage({ error: errorMessage(err) }),
  );
}
