// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { HOST, holdPort, isPortFree, resolvePorts } from "../../scripts/stack/ports";

test("a held port is never one of the free ports chosen, refuses a second holder, and is free once released", async () => {
  const { port } = await resolvePorts({ port: 0 });
  const hold = await holdPort(port);
  try {
    assert.equal(await isPortFree(port), false);
    await assert.rejects(holdPort(port), /EADDRINUSE/);
    const chosen = await resolvePorts(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`p${i}`, 0])));
    assert.ok(!Object.values(chosen).includes(port));
    // A client early is turned away at once, not left waiting.
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, HOST);
      // Closed or reset: either way not left open.
      socket.once("close", () => resolve());
      socket.once("error", () => resolve());
      socket.setTimeout(2_000, () => reject(new Error("the held port left a client waiting")));
    });
  } finally {
    await hold.release();
  }
  assert.equal(await isPortFree(port), true);
});
