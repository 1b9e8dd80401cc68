import { describe, expect, it } from "vitest";
import { bookId } from "../../../src/services/markets";

/** A namespace that counts its `idFromName` calls; an id is its name with the namespace's tag. */
function namespace(tag: string) {
  const calls: string[] = [];
  const ns = {
    idFromName(name: string) {
      calls.push(name);
      return { toString: () => `${tag}:${name}` };
    },
  } as unknown as DurableObjectNamespace;
  return { ns, calls };
}

describe("bookId", () => {
  it("hashes each symbol once per namespace and answers the same id after", () => {
    const a = namespace("a");
    const b = namespace("b");
    const first = bookId(a.ns, "BTC-USDT");
    expect(bookId(a.ns, "BTC-USDT")).toBe(first);
    expect(bookId(a.ns, "ETH-USDT").toString()).toBe("a:ETH-USDT");
    // Another namespace's id for the same name is its own.
    expect(bookId(b.ns, "BTC-USDT").toString()).toBe("b:BTC-USDT");
    expect(a.calls).toEqual(["BTC-USDT", "ETH-USDT"]);
    expect(b.calls).toEqual(["BTC-USDT"]);
  });

  it("keeps a bounded number of ids: past the bound it starts over, still answering right", () => {
    const { ns, calls } = namespace("n");
    for (let i = 0; i < 2_500; i++) expect(bookId(ns, `S${i}`).toString()).toBe(`n:S${i}`);
    calls.length = 0;
    bookId(ns, "S2499");
    expect(calls).toEqual([]);
    bookId(ns, "S0");
    expect(calls).toEqual(["S0"]);
  });
});
