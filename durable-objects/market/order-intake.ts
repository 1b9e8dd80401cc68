import type {
  CommandError,
  CommandResult,
  LockOutcome,
  MarketCommand,
  PlacementFunding,
} from "../../src/domain/market/commands";
import { withTimeout } from "../../src/lib/with-timeout";
import type { Funding } from "./market";
import type { FlushStage } from "./metrics";

/** How long a flush waits for Postgres before it gives up on the locks it asked for. */
const LOCK_TIMEOUT_MS = 10_000;

export interface IntakeStep {
  command: MarketCommand;
  funding: Funding;
}

/** A placement whose funds are being locked: what recovery needs to undo it. */
export interface InFlight {
  orderId: string;
  userId: string;
}

/** What the intake needs of the object around it. */
export interface IntakeHost {
  /** A refusal (or a known id's first result) before any funds move; null to go on. */
  admit(command: MarketCommand): CommandResult | null;
  /** Counts a placement against its account's order-entry limits; the refusal when over. */
  limit(placement: Extract<MarketCommand, { kind: "place" | "place_oco" }>): CommandError | null;
  /** True when placements must arrive funded: the market settles into Postgres. */
  fundsRequired(): boolean;
  /** Durably notes the placements about to be locked, before Postgres is asked. */
  markInFlight(placements: readonly InFlight[]): void;
  /** ONE Postgres round trip: records and funds every placement, an outcome each. */
  lockFunds(funding: readonly PlacementFunding[]): Promise<LockOutcome[]>;
  /** Executes the steps in order in one storage transaction that also clears `locked`'s in-flight notes. */
  run(steps: readonly IntakeStep[], locked: readonly InFlight[]): CommandResult[];
  /** Postgres did not answer: the placements may be locked or not; settle that (see OrderBook). */
  abandon(placements: readonly InFlight[]): void;
  /** The balances the locks left, for the users' sockets. */
  publishLocks(locked: readonly { funding: PlacementFunding; outcome: LockOutcome }[]): void;
  /** Every command's result of a flush (the market's metrics). */
  observe(commands: readonly MarketCommand[], results: readonly CommandResult[]): void;
  /** Resolves once the storage writes made so far are durable (when the output gate opens). */
  durable(): Promise<void>;
  /** How long one stage of a flush took (the market's metrics). */
  stage(stage: FlushStage, ms: number): void;
}

interface Waiting {
  commands: readonly MarketCommand[];
  /** When the call was submitted (workerd's clock: it advances between turns). */
  at: number;
  resolve(results: CommandResult[]): void;
  reject(err: unknown): void;
}

const fail = (code: string, message: string, orderId?: string): CommandError => ({
  ok: false,
  code,
  message,
  ...(orderId ? { orderId } : {}),
});

type Placement = Extract<MarketCommand, { kind: "place" | "place_oco" }>;

const isPlacement = (c: MarketCommand): c is Placement =>
  typeof c === "object" && c !== null && (c.kind === "place" || c.kind === "place_oco");

/** A group of commands on its way: refused or queued for the lock, its lock under way. */
interface Flush {
  group: readonly Waiting[];
  commands: readonly MarketCommand[];
  results: (CommandResult | undefined)[];
  funding: Funding[];
  /** The placements whose funds are being locked (indices into `commands`) and their notes. */
  toLock: number[];
  inFlight: InFlight[];
  /** The lock's outcomes; null when Postgres did not answer in time. */
  locking: Promise<LockOutcome[] | null>;
  /** What `prepare` threw: the group is refused whole. */
  failed?: unknown;
  /** When the group was taken, and when its in-flight notes were durable (the lock left then). */
  takenAt: number;
  durableAt?: number;
}

/**
 * The order path's group commit. Commands queue in arrival order; a flush takes everything
 * queued, locks the funds of all its placements in ONE Postgres round trip, then executes every
 * command of the group in order (one storage transaction) and answers each caller. Commands
 * arriving while a flush waits for Postgres form the next group, so throughput grows with the
 * group, not with round trips, and a cancel or amend always runs after the placement it names:
 * the object is the order's single writer from the lock on, and nothing can release funds that
 * the book may still take. The next group is taken, noted and sent to Postgres in the same turn
 * as the group before it runs: its in-flight notes share that group's storage commit (one commit
 * a flush), and its lock leaves as soon as that commit is durable (the output gate).
 */
export class OrderIntake {
  private readonly queue: Waiting[] = [];
  private draining = false;

  constructor(private readonly host: IntakeHost) {}

  submit(commands: readonly MarketCommand[]): Promise<CommandResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ commands, at: Date.now(), resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // A microtask later: calls delivered in the same turn join the first group.
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      let next: Flush | undefined = this.prepare(this.queue.splice(0));
      while (next) {
        const current = next;
        const outcomes = await current.locking;
        const back = Date.now();
        if (current.toLock.length) this.timeLock(current, back);
        next = this.queue.length ? this.prepare(this.queue.splice(0)) : undefined;
        const prepared = Date.now();
        this.host.stage("wait", prepared - back);
        this.finish(current, outcomes);
        const ran = Date.now();
        this.host.stage("run", ran - prepared);
        this.host.durable().then(
          () => this.host.stage("answer", Date.now() - ran),
          () => {}, // a failed commit breaks the object: nothing is answered (the output gate)
        );
      }
    } finally {
      this.draining = false;
    }
  }

  /** The lock's two parts: its notes' commit, then the Postgres round trip. */
  private timeLock(flush: Flush, back: number): void {
    const durableAt = flush.durableAt ?? back;
    this.host.stage("commit", durableAt - flush.takenAt);
    this.host.stage("lock", back - durableAt);
  }

  /** Refusals before any funds move; the placements to lock noted durably and sent to Postgres. */
  private prepare(group: readonly Waiting[]): Flush {
    const takenAt = Date.now();
    for (const w of group) this.host.stage("queue", takenAt - w.at);
    const commands = group.flatMap((w) => w.commands);
    const flush: Flush = {
      takenAt,
      group,
      commands,
      results: new Array<CommandResult | undefined>(commands.length),
      funding: new Array<Funding>(commands.length).fill("free"),
      toLock: [],
      inFlight: [],
      locking: Promise.resolve([]),
    };
    try {
      const fundsRequired = this.host.fundsRequired();
      commands.forEach((c, i) => {
        if (!isPlacement(c)) return;
        // A retry of a placement the book took is recognised by the lock (`duplicate_order`) and
        // answered with the first result; like Binance, the attempt still counts against the limit.
        const refusal = (fundsRequired ? this.host.admit(c) : null) ?? this.host.limit(c);
        if (refusal) flush.results[i] = refusal;
        else if (!fundsRequired) return;
        else if (!c.funding) flush.results[i] = fail("FUNDS_REQUIRED", "A placement must carry its funding");
        else flush.toLock.push(i);
      });
      if (flush.toLock.length) {
        const placements = flush.toLock.map((i) => commands[i] as Placement);
        flush.inFlight = placements.map((c) => ({ orderId: c.orderId, userId: c.userId }));
        this.host.markInFlight(flush.inFlight);
        this.host.durable().then(
          () => (flush.durableAt = Date.now()),
          () => {}, // a failed commit breaks the object: the lock never leaves (the output gate)
        );
        flush.locking = withTimeout(
          this.host.lockFunds(placements.map((c) => c.funding!)),
          LOCK_TIMEOUT_MS,
          "funds lock timed out",
        ).catch(() => null);
      }
    } catch (err) {
      flush.failed = err;
      flush.locking = Promise.resolve([]);
    }
    return flush;
  }

  /** Applies the lock's outcomes, runs the group in one storage transaction and answers every caller. */
  private finish(flush: Flush, outcomes: LockOutcome[] | null): void {
    const { group, commands, results, funding } = flush;
    try {
      if (flush.failed !== undefined) throw flush.failed;
      let noted = flush.inFlight;
      if (outcomes === null) {
        this.host.abandon(flush.inFlight);
        noted = [];
        for (const i of flush.toLock) {
          // Abandoned: refused for good under this id (Market.abandon), so a retry must be a new order.
          results[i] = fail(
            "FUNDS_UNAVAILABLE",
            "Balances could not be checked now; place the order again as a new order (a new id or Idempotency-Key)",
          );
        }
      } else if (flush.toLock.length) {
        this.applyLocks(flush, outcomes);
      }
      const steps: IntakeStep[] = [];
      const stepOf: number[] = [];
      commands.forEach((command, i) => {
        if (results[i]) return;
        stepOf.push(i);
        steps.push({ command, funding: funding[i]! });
      });
      // Run even when empty: it clears the in-flight notes of placements that were refused.
      const ran = steps.length || noted.length ? this.host.run(steps, noted) : [];
      ran.forEach((r, k) => (results[stepOf[k]!] = r));
      this.host.observe(commands, results as CommandResult[]);
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    let at = 0;
    for (const w of group) {
      w.resolve((results as CommandResult[]).slice(at, at + w.commands.length));
      at += w.commands.length;
    }
  }

  private applyLocks(flush: Flush, outcomes: readonly LockOutcome[]): void {
    const { commands, results, funding } = flush;
    const locked: { funding: PlacementFunding; outcome: LockOutcome }[] = [];
    flush.toLock.forEach((i, k) => {
      const placement = commands[i] as Placement;
      const outcome = outcomes[k];
      switch (outcome?.outcome) {
        case "locked":
          funding[i] = "locked";
          locked.push({ funding: placement.funding!, outcome });
          break;
        case "duplicate_order":
          funding[i] = "unfunded"; // the book answers with the first placement's result
          break;
        case "duplicate_client_order_id":
          results[i] = fail(
            "DUPLICATE_CLIENT_ORDER_ID",
            "client_order_id is already used",
            outcome.order_id ?? undefined,
          );
          break;
        case "insufficient_funds":
          results[i] = fail("INSUFFICIENT_FUNDS", `Insufficient ${placement.funding!.lock.asset} balance`);
          break;
        default:
          results[i] = fail("BAD_REQUEST", "The placement's lock is not a positive amount");
      }
    });
    if (locked.length) this.host.publishLocks(locked);
  }
}
