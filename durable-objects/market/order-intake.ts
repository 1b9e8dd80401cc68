import type {
  CommandError,
  CommandResult,
  LockOutcome,
  MarketCommand,
  PlacementFunding,
} from "../../src/domain/market/commands";
import { withTimeout } from "../../src/lib/with-timeout";
import type { FencePass } from "./lock-fence";
import type { Funding } from "./market";
import type { FlushStage } from "./metrics";

/** How long a flush waits for Postgres before it gives up on the locks it asked for. */
const LOCK_TIMEOUT_MS = 10_000;
/**
 * Groups whose locks may be out at once: the next group is taken, checked and its lock handed to
 * the connection while the previous lock is out; on a direct connection it is written at once
 * and Postgres runs it the moment the one before it commits, over the pooler it is written once
 * that one is answered (./lock-line.ts: one connection, in order).
 */
const PIPELINE_DEPTH = 2;
/**
 * A group taken while another lock is out holds at least this many commands; fewer wait for that
 * lock's answer and join the group taken then. Each lock has a fixed cost (about 2 ms of Postgres
 * CPU for `place_orders`, a round trip and a storage commit in the object) that only its group
 * shares: a second lock for a few REST orders made groups smaller and every order dearer, while
 * socket loads, whose queue is deep, still pipeline.
 */
const MIN_PIPELINED = 16;

export interface IntakeStep {
  command: MarketCommand;
  funding: Funding;
}

/** A placement whose funds may be locked while the book does not know it: what recovery undoes. */
export interface InFlight {
  orderId: string;
  userId: string;
}

/** What the intake needs of the object around it. */
export interface IntakeHost {
  /** A refusal (or a known id's first result) before any funds move; null to go on. */
  admit(command: MarketCommand): CommandResult | null;
  /**
   * Counts a placement against its account's order-entry limits at `now` (the group's time: one
   * clock read a group); the refusal when over.
   */
  limit(placement: Extract<MarketCommand, { kind: "place" | "place_oco" }>, now: number): CommandError | null;
  /** True when placements must arrive funded: the market settles into Postgres. */
  fundsRequired(): boolean;
  /** The pass through the market's lock fence for the next lock; null while it must be raised. */
  fence(): FencePass | null;
  /**
   * Raises the lock fence and abandons what earlier locks left that the book does not know
   * (./lock-fence.ts); rejects when Postgres could not be asked.
   */
  raiseFence(): Promise<void>;
  /** A lock went unaccounted (no answer, an error): the fence is raised before the next one. */
  lowerFence(): void;
  /** ONE Postgres round trip, through the fence: records and funds every placement, an outcome each. */
  lockFunds(funding: readonly PlacementFunding[], pass: FencePass): Promise<LockOutcome[]>;
  /** Resolves once every lock asked for so far is handed to the connection's WebSocket. */
  sent(): Promise<void>;
  /** Executes the steps in order in one storage transaction; `mark`: the lock's (lock-fence.ts). */
  run(steps: readonly IntakeStep[], mark: number | undefined): CommandResult[];
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
  /** The placements whose funds are being locked (indices into `commands`). */
  toLock: number[];
  /** The lock's outcomes; null when Postgres did not answer in time (or refused the call). */
  locking: Promise<LockOutcome[] | null>;
  /** The lock's pass through the fence; its `mark` once the lock passed. */
  pass?: FencePass;
  /** What `prepare` threw: the group is refused whole. */
  failed?: unknown;
  /** When the group was taken, and when the writes made before its lock left were durable. */
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
 * the book may still take.
 *
 * No lock waits for a storage commit: a crash between a lock and its group's run is recovered
 * from Postgres through the market's lock fence (./lock-fence.ts), not from notes written before
 * the lock. So the next group's lock leaves as soon as the previous group's outcomes are back,
 * BEFORE that group runs: the output gate holds every outgoing message until the writes made
 * before it are durable, and the run's writes would hold the lock for a whole commit. The group
 * runs and commits while the next lock is out; only its answers wait for that commit. `sent()`
 * says when the lock's bytes are with the WebSocket (./lock-line.ts), after which writes no
 * longer hold it.
 *
 * Up to `depth` groups' locks are out at once, on one connection: Postgres runs them in the
 * order they were asked for, and the groups run in that order whatever order their answers are
 * read in (docs/decisions/0017-locks-queued-on-one-connection.md; written at once on a direct
 * connection: docs/decisions/0023-locks-pipelined-on-the-direct-connection.md). Behind a lock
 * out, only a group of `minPipelined` commands or more leaves
 * (docs/decisions/0019-second-lock-only-for-a-full-group.md). A lock left unaccounted lowers the
 * fence; the groups whose locks were out behind it still run on their own outcomes but keep no
 * mark, and the raise waits until none is out and the last of them ran.
 */
export class OrderIntake {
  private readonly queue: Waiting[] = [];
  /** Commands in `queue`. */
  private queued = 0;
  /** Groups taken, in arrival order, not yet run: the first one's lock left first. */
  private readonly taken: Flush[] = [];
  private draining = false;
  private scheduled = false;
  /**
   * A lock went unaccounted since the fence was last raised: the groups whose locks were out
   * behind it keep no mark (the next raise must look from below what that lock may have left).
   */
  private unaccounted = false;

  constructor(
    private readonly host: IntakeHost,
    /** Locks out at once; further calls queue for the next group. */
    private readonly depth = PIPELINE_DEPTH,
    /** Commands a group taken while another lock is out must hold (`MIN_PIPELINED`). */
    private readonly minPipelined = MIN_PIPELINED,
  ) {}

  submit(commands: readonly MarketCommand[]): Promise<CommandResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ commands, at: Date.now(), resolve, reject });
      this.queued += commands.length;
      // With `depth` locks out, or one out and too few queued to follow it, the drain takes the
      // queue once the first is answered: no turn to schedule (one per socket frame was a tenth
      // of order.place's own cost).
      if (this.scheduled || (this.draining && this.waitsForDrain())) return;
      this.scheduled = true;
      // A microtask later: calls delivered in the same turn join one group.
      queueMicrotask(() => {
        this.scheduled = false;
        this.take();
        if (this.draining || !this.taken.length) return;
        this.draining = true;
        void this.drain();
      });
    });
  }

  /** No group may be taken before the lock out is answered: `depth` out, or too few queued. */
  private waitsForDrain(): boolean {
    const out = this.taken.length;
    return out >= this.depth || (out > 0 && this.queued < this.minPipelined);
  }

  /**
   * Takes everything queued as the next group and starts its lock, when one may leave now: fewer
   * than `depth` locks out, and no raise of the fence pending while earlier groups are out (a
   * raise waits for them: what it reads must be final). True when a lock was started.
   */
  private take(): boolean {
    if (!this.queue.length || this.waitsForDrain()) return false;
    // Behind a lock out, no raise of the fence pending.
    if (this.taken.length && this.host.fundsRequired() && !this.host.fence()) return false;
    this.queued = 0;
    const flush = this.prepare(this.queue.splice(0));
    this.taken.push(flush);
    return flush.toLock.length > 0;
  }

  private async drain(): Promise<void> {
    try {
      while (this.taken.length) {
        const current = this.taken[0]!;
        const outcomes = await current.locking;
        const back = Date.now();
        if (current.toLock.length) this.timeLock(current, back);
        if (outcomes === null) {
          this.host.lowerFence();
          this.unaccounted = true;
        }
        this.taken.shift();
        // The next lock goes on the wire before this group's writes (see the class comment); a
        // raise of the fence only once this group ran: what the raise reads must be final.
        const raising = this.host.fundsRequired() && !this.host.fence();
        if (!raising && this.take()) await this.host.sent();
        const prepared = Date.now();
        this.host.stage("wait", prepared - back);
        this.finish(current, outcomes);
        if (raising) this.take();
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

  /** The lock's two parts: the storage commit it waited for (the output gate), then the round trip. */
  private timeLock(flush: Flush, back: number): void {
    const durableAt = Math.min(flush.durableAt ?? back, back);
    this.host.stage("commit", durableAt - flush.takenAt);
    this.host.stage("lock", back - durableAt);
  }

  /** Refusals before any funds move; the placements to lock sent to Postgres through the fence. */
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
      locking: Promise.resolve([]),
    };
    try {
      const fundsRequired = this.host.fundsRequired();
      commands.forEach((c, i) => {
        if (!isPlacement(c)) return;
        // A retry of a placement the book took is recognised by the lock (`duplicate_order`) and
        // answered with the first result; like Binance, the attempt still counts against the limit.
        const refusal = (fundsRequired ? this.host.admit(c) : null) ?? this.host.limit(c, takenAt);
        if (refusal) flush.results[i] = refusal;
        else if (!fundsRequired) return;
        else if (!c.funding) flush.results[i] = fail("FUNDS_REQUIRED", "A placement must carry its funding");
        else flush.toLock.push(i);
      });
      // A market that settles into Postgres raises its fence once started, placements or not:
      // what an earlier incarnation left locked is released without waiting for an order.
      const pass = this.host.fence();
      if (!fundsRequired || (pass && !flush.toLock.length)) return flush;
      // The lock before it (still out or not) is the one this lock is queued behind on the line.
      flush.locking = this.lock(flush, pass, this.taken.at(-1)?.locking).catch(() => null);
    } catch (err) {
      flush.failed = err;
      flush.locking = Promise.resolve([]);
    }
    return flush;
  }

  /** Raises the fence when it is down, then locks the group's placements through it. */
  private async lock(flush: Flush, pass: FencePass | null, ahead?: Promise<unknown>): Promise<LockOutcome[]> {
    if (!pass) {
      await withTimeout(this.host.raiseFence(), LOCK_TIMEOUT_MS, "lock fence not raised in time");
      pass = this.host.fence();
      if (!pass) throw new Error("lock fence not raised");
      // The raise read everything earlier locks left (none is out: `take`), above the kept mark.
      this.unaccounted = false;
    }
    if (!flush.toLock.length) return [];
    flush.pass = pass;
    this.host.durable().then(
      () => (flush.durableAt = Date.now()),
      () => {}, // a failed commit breaks the object: the lock never leaves (the output gate)
    );
    const placements = flush.toLock.map((i) => (flush.commands[i] as Placement).funding!);
    const locking = this.host.lockFunds(placements, pass);
    // Behind the lock out, Postgres starts it only once that one is answered: its time starts then.
    if (ahead) {
      locking.catch(() => {}); // awaited below, once `ahead` settled
      await ahead;
    }
    return withTimeout(locking, LOCK_TIMEOUT_MS, "funds lock timed out");
  }

  /** Applies the lock's outcomes, runs the group in one storage transaction and answers every caller. */
  private finish(flush: Flush, outcomes: LockOutcome[] | null): void {
    const { group, commands, results, funding } = flush;
    try {
      if (flush.failed !== undefined) throw flush.failed;
      if (outcomes === null) {
        for (const i of flush.toLock) {
          // Whatever that lock did is found by the fence's next raise and released for good
          // (Market.abandon); a placement it never recorded cannot be recorded any more.
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
      const mark = outcomes === null || this.unaccounted ? undefined : flush.pass?.mark;
      const ran = steps.length || mark !== undefined ? this.host.run(steps, mark) : [];
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
