import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkSize, streamRuns } from "../../../src/domain/events/event-outbox";

describe("streamRuns", () => {
  it("gives the streams back as runs of one stream each, neighbours differing", () => {
    const stream = fc.constantFrom("trading:events", "wallet:events", "user-service:events");
    fc.assert(
      fc.property(fc.array(stream, { maxLength: 60 }), (streams) => {
        const { keys, lengths } = streamRuns(streams);
        expect(keys.flatMap((key, k) => Array<string>(lengths[k]!).fill(key))).toEqual(streams);
        expect(lengths.every((n) => n >= 1)).toBe(true);
        expect(keys.every((key, k) => k === 0 || keys[k - 1] !== key)).toBe(true);
      }),
    );
  });
});

describe("chunkSize", () => {
  it("cuts into the fewest chunks of at most `max`, of even sizes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 5_000 }), (count, max) => {
        const size = chunkSize(count, max);
        const chunks = Math.ceil(count / size);
        expect(size).toBeLessThanOrEqual(max);
        expect(chunks).toBe(Math.ceil(count / max));
        // Even: the last chunk is short of the others by less than one item per chunk.
        expect(size * chunks - count).toBeLessThan(chunks);
      }),
    );
    expect(chunkSize(600, 500)).toBe(300);
    expect(chunkSize(500, 500)).toBe(500);
  });
});
