import type { Redis } from "@upstash/redis/cloudflare";
import { limitKey, windowMs, type LimitCheck, type LimitVerdict, type WindowCounts } from "./rate-limit";

/**
 * The hot path's sliding-window limits (per IP, per caller), counted in batches.
 *
 * Asking Redis on every request was a subrequest per request (its CPU in the Worker, a round
 * trip of latency). Instead each isolate keeps, per limit, the window counts Redis last
 * reported and the requests it admitted since. While that report is at most
 * KNOWLEDGE_MAX_AGE_MS old, a request is judged here (reported + admitted here ≥ limit:
 * refused, and not counted, as the script refuses) and counted as pending; within
 * FLUSH_DELAY_MS one command adds every pending count to Redis and reads each limit's counts
 * back, which renews the report. A limit this isolate knows nothing recent about is counted in
 * Redis by the request itself (`checkRateLimitsAndRead`), as before.
 *
 * Inside one isolate the verdicts are the script's. Across isolates a limit can be exceeded by
 * what other isolates admitted but had not yet flushed when this one last heard from Redis: at
 * most about one second's worth (the report's age plus a flush), after which every isolate sees
 * the others' counts. Redis failing to take a flush loses those counts (logged), as a failed
 * command fails the limits open today.
 */

/** How old a limit's counts may be for this isolate to judge requests on them alone. */
export const KNOWLEDGE_MAX_AGE_MS = 1_000;
/**
 * How long admitted requests gather before one command counts them: a busy isolate sends about
 * 20 commands a second whatever its request rate (at 10 ms, a flush carried too few to matter).
 */
export const FLUSH_DELAY_MS = 50;
/** A scheduled flush not sent after this (its request cancelled) no longer stops another. */
const FLUSH_STUCK_MS = 5_000;
/** Tallies kept before stale ones are dropped. */
const MAX_TALLIES = 10_000;

interface Tally {
  key: string;
  limit: number;
  size: number;
  /** What Redis reported, asked at `at` (null: nothing yet). */
  known: WindowCounts | null;
  at: number;
  /** Requests of this isolate whose own command is counting them in Redis (`asking`, then `learn`). */
  waiting: number;
  /** Admitted here, in a flush on its way to Redis. */
  sending: number;
  /** Admitted here, not sent yet. */
  pending: number;
}

/** The window's count now by the script's arithmetic, plus what this isolate has not sent or seen counted. */
function used(t: Tally, now: number): number {
  const index = Math.floor(now / t.size);
  const weight = 1 - (now % t.size) / t.size;
  const { known } = t;
  const reported = !known
    ? 0
    : index === known.index
      ? Math.floor(weight * known.previous) + known.current
      : index === known.index + 1
        ? Math.floor(weight * known.current)
        : 0;
  return reported + t.sending + t.pending + t.waiting;
}

/**
 * Two reports of one limit, in whatever order Redis ran them: counts only go up within a
 * window, so the larger is the later (a reply that ran earlier but arrived later teaches nothing).
 */
function newer(known: WindowCounts | null, reported: WindowCounts): WindowCounts {
  if (!known || reported.index > known.index) return reported;
  if (reported.index < known.index) return known;
  return {
    index: known.index,
    current: Math.max(known.current, reported.current),
    previous: Math.max(known.previous, reported.previous),
  };
}

/**
 * Takes a report of `t`'s counts asked at `at` (null: none). A garbled count (NaN) is no count:
 * judged by it, `count >= limit` would admit everything.
 */
function report(t: Tally, reported: WindowCounts | null, at: number): void {
  if (reported === null || !Number.isFinite(reported.current) || !Number.isFinite(reported.previous)) return;
  t.known = newer(t.known, reported);
  t.at = Math.max(t.at, at);
}

// KEYS: per tally its current and previous window; ARGV: per tally its pending count and window
// ms. Adds each count (the keys expire as @upstash/ratelimit's do) and returns, per tally, the
// current window's count and the previous window's.
const ADD_AND_READ = `
local out = {}
for i = 1, #KEYS / 2 do
  local n, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local counted = redis.call('INCRBY', KEYS[2 * i - 1], n)
  if counted == n then redis.call('PEXPIRE', KEYS[2 * i - 1], window * 2 + 1000) end
  out[2 * i - 1] = counted
  out[2 * i] = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
end
return out`;

export class BatchedLimits {
  private readonly tallies = new Map<string, Tally>();
  private readonly dirty = new Set<Tally>();
  private readonly script: ReturnType<Redis["createScript"]>;
  /** When the flush waiting to send was scheduled; 0 when none waits. */
  private scheduledSince = 0;

  constructor(redis: Redis) {
    this.script = redis.createScript(ADD_AND_READ);
  }

  /**
   * Verdicts judged here, each admitted request counted as pending; null when any limit's
   * counts are unknown here or older than KNOWLEDGE_MAX_AGE_MS (ask Redis, then `learn`).
   */
  admit(limits: readonly LimitCheck[], now = Date.now()): LimitVerdict[] | null {
    const tallies: Tally[] = [];
    for (const l of limits) {
      const t = this.tallies.get(limitKey(l));
      if (!t || now - t.at > KNOWLEDGE_MAX_AGE_MS) return null;
      tallies.push(t);
    }
    return tallies.map((t) => {
      const count = used(t, now);
      const reset = (Math.floor(now / t.size) + 1) * t.size;
      if (count >= t.limit) return { success: false, limit: t.limit, remaining: 0, reset };
      t.pending++;
      this.dirty.add(t);
      return { success: true, limit: t.limit, remaining: t.limit - count - 1, reset };
    });
  }

  /**
   * A request is about to count `limits` in Redis with its own command: until its `learn`, it is
   * held against them here (Redis may count it after the report others judge on).
   */
  asking(limits: readonly LimitCheck[], now = Date.now()): void {
    for (const l of limits) this.tally(l, now).waiting++;
  }

  /**
   * What the command of an `asking` request reported (`counts` or `counts[i]` null: not
   * counted, or Redis failed), asked at `at`. Always called once after `asking`.
   */
  learn(limits: readonly LimitCheck[], counts: readonly (WindowCounts | null)[] | null, at: number): void {
    limits.forEach((l, i) => {
      const t = this.tally(l, at);
      if (t.waiting > 0) t.waiting--;
      report(t, counts?.[i] ?? null, at);
    });
  }

  private tally(l: LimitCheck, now: number): Tally {
    const key = limitKey(l);
    let t = this.tallies.get(key);
    if (!t) {
      if (this.tallies.size >= MAX_TALLIES) this.dropStale(now);
      t = {
        key,
        limit: l.limit,
        size: windowMs(l.window),
        known: null,
        at: 0,
        waiting: 0,
        sending: 0,
        pending: 0,
      };
      this.tallies.set(key, t);
    }
    return t;
  }

  /**
   * Counts what was admitted here in Redis within FLUSH_DELAY_MS, unless a flush is scheduled
   * and not sent yet (it takes what is pending when it sends). Once a flush sends, the next
   * admitted request schedules the next one, so every count has a flush on its way.
   * `waitUntil` keeps the flush alive after the response of the request that schedules it;
   * `onError` hears a flush Redis did not take.
   */
  flushSoon(
    waitUntil: (work: Promise<unknown>) => void,
    onError: (err: unknown) => void,
    now = Date.now(),
  ): void {
    if (this.dirty.size === 0) return;
    if (this.scheduledSince && now - this.scheduledSince < FLUSH_STUCK_MS) return;
    this.scheduledSince = now;
    waitUntil(
      // workerd's own timer: nodejs_compat's setTimeout builds a Node Timeout object each time.
      scheduler
        .wait(FLUSH_DELAY_MS)
        .then(() => {
          this.scheduledSince = 0;
          return this.flush();
        })
        .catch(onError),
    );
  }

  private async flush(): Promise<void> {
    const batch = [...this.dirty];
    this.dirty.clear();
    const at = Date.now();
    const keys: string[] = [];
    const args: string[] = [];
    const sent = batch.map((t) => {
      const index = Math.floor(at / t.size);
      keys.push(`${t.key}:${index}`, `${t.key}:${index - 1}`);
      args.push(String(t.pending), String(t.size));
      const n = t.pending;
      t.sending += n;
      t.pending = 0;
      return n;
    });
    let replies: number[];
    try {
      replies = (await this.script.exec(keys, args)) as number[];
    } finally {
      batch.forEach((t, i) => (t.sending -= sent[i]!));
    }
    batch.forEach((t, i) =>
      report(
        t,
        {
          index: Math.floor(at / t.size),
          current: Number(replies[2 * i]),
          previous: Number(replies[2 * i + 1]),
        },
        at,
      ),
    );
  }

  /** Forgets limits whose counts are too old to judge on and that have nothing to send. */
  private dropStale(now: number): void {
    for (const [key, t] of this.tallies) {
      if (now - t.at > KNOWLEDGE_MAX_AGE_MS && t.pending === 0 && t.sending === 0 && t.waiting === 0)
        this.tallies.delete(key);
    }
  }
}

const perClient = new WeakMap<Redis, BatchedLimits>();

/** The isolate's batched limits counted through `redis` (the hot path's shared client). */
export function batchedLimits(redis: Redis): BatchedLimits {
  let limits = perClient.get(redis);
  if (!limits) perClient.set(redis, (limits = new BatchedLimits(redis)));
  return limits;
}
