import type { OutboxSource } from "../../../src/domain/settlement/settle-market";

/** The book read `size` entries a read (over RPC), its acknowledgements noted in `acks`. */
export function notedAcks(book: OutboxSource, size: number) {
  const acks: number[] = [];
  const source: OutboxSource = {
    readOutbox: (afterSeq) => book.readOutbox(afterSeq, size),
    ackOutbox: (uptoSeq, epoch) => {
      acks.push(uptoSeq);
      return book.ackOutbox(uptoSeq, epoch);
    },
    publishBalances: (updates) => book.publishBalances(updates),
  };
  return { acks, source };
}
