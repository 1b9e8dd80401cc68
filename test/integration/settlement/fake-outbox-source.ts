import type { ReadPages } from "../../../src/domain/settlement/settle-market";

/** An order book's outbox for an ObjectSettler under test: empty, its pages from `readPages`. */
export const fakeOutboxSource = (readPages: ReadPages) => ({
  readOutbox: async () => ({ entries: [] }),
  ackOutbox: async () => 0,
  publishBalances: async () => {},
  backlog: () => 0,
  readPages,
});
