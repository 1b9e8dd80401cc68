import type { CommandResult, OutboxEntry, Replay } from "../../src/domain/market/commands";
import type { JournalEntry } from "./journal";

export interface BookOrderRow {
  num: number;
  orderId: string;
  clientOrderId: string | null;
  userId: string;
  result: CommandResult;
  /** Unset: the result is kept for a retry under the same id. */
  replay?: Replay;
}

export interface BookTradeRow {
  id: number;
  ts: number;
  price: number;
  quantity: number;
  takerSide: "buy" | "sell";
}

/** Everything one call changes, written in one storage transaction and broadcast after it. */
export class Batch {
  readonly journal: JournalEntry[] = [];
  readonly orders: BookOrderRow[] = [];
  /** Orders placed in this batch by id (not yet in SQLite). */
  readonly placed = new Map<string, BookOrderRow>();
  readonly users: { num: number; userId: string }[] = [];
  readonly outbox: OutboxEntry[] = [];
  readonly trades: BookTradeRow[] = [];

  constructor(readonly ts: number) {}
}
