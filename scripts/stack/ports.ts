import net from "node:net";

// Loopback only: every service of the stack binds 127.0.0.1.
export const HOST = "127.0.0.1";

function listenAnywhere(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

/**
 * Replaces every 0 with a distinct free port on 127.0.0.1 (all probes are held open together
 * so the kernel cannot hand out the same port twice) and checks that fixed ports are free.
 */
export async function resolvePorts<K extends string>(
  wanted: Record<K, number>,
  labels: Partial<Record<K, string>> = {},
): Promise<Record<K, number>> {
  const entries = Object.entries(wanted) as [K, number][];
  const held: net.Server[] = [];
  try {
    const result = {} as Record<K, number>;
    for (const [name, port] of entries) {
      if (port === 0) {
        const server = await listenAnywhere();
        held.push(server);
        result[name] = portOf(server);
      } else if (await isPortFree(port)) {
        result[name] = port;
      } else {
        throw new Error(
          `${labels[name] ?? name}: port ${port} on ${HOST} is already in use (another stack running? choose another port, or 0 for a free one)`,
        );
      }
    }
    return result;
  } finally {
    await Promise.all(held.map((s) => new Promise((done) => s.close(done))));
  }
}

/**
 * Binds 127.0.0.1:port until `release` is called: a port someone starts later (wrangler dev's)
 * kept out of the stack's free ports, which the kernel could otherwise hand out in between.
 * Rejects when the port is taken.
 */
export function holdPort(port: number): Promise<{ release(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    // A client early (a readiness probe) is turned away at once rather than left hanging.
    const server = net.createServer((socket) => socket.destroy());
    server.unref();
    server.once("error", reject);
    server.listen(port, HOST, () =>
      resolve({ release: () => new Promise((done) => server.close(() => done())) }),
    );
  });
}

/** True when nothing listens on 127.0.0.1:port and we may bind it. */
export function isPortFree(port: number): Promise<boolean> {
  return holdPort(port).then(
    (hold) => hold.release().then(() => true),
    () => false,
  );
}
