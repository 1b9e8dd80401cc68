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
/** Flushes one scheduling request runs back to back at most (later ones: the next request's). */
const MAX_FLUSHES_IN_A_ROW = 5;
/** A flush running longer than this (its request cancelled) no longer stops another starting. */
const FLUSH_STUCK_MS = 5_000;
/** Tallies kept before stale ones are dropped. */
const MAX_TALLIES = 10_000;

interface Tally {
  key: string;
  limit: number;
  size: number;
  /** What Redis reported, asked at `at`. */
  known: WindowCounts;
  at: number;
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
  const reported =
    index === known.index
      ? Math.floor(weight * known.previous) + known.current
      : index === known.index + 1
        ? Math.floor(weight * known.current)
        : 0;
  return reported + t.sending + t.pending;
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
  /** When the running flush started; 0 when none runs. */
  private flushingSince = 0;

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

  /** What a command that counted `limits` in Redis reported (`counts[i]` null: not counted), asked at `at`. */
  learn(limits: readonly LimitCheck[], counts: readonly (WindowCounts | null)[], at: number): void {
    limits.forEach((l, i) => {
      const known = counts[i];
      if (!known) return;
      const key = limitKey(l);
      const t = this.tallies.get(key);
      if (!t) {
        if (this.tallies.size >= MAX_TALLIES) this.dropStale(at);
        this.tallies.set(key, {
          key,
          limit: l.limit,
          size: windowMs(l.window),
          known,
          at,
          sending: 0,
          pending: 0,
        });
      } else if (at >= t.at) {
        t.known = known;
        t.at = at;
      }
    });
  }

  /**
   * Counts what was admitted here in Redis within FLUSH_DELAY_MS, unless a flush is on its way
   * (it takes what is pending when it sends). `waitUntil` keeps the flush alive after the
   * response of the request that starts it; `onError` hears a flush Redis did not take.
   */
  flushSoon(
    waitUntil: (work: Promise<unknown>) => void,
    onError: (err: unknown) => void,
    now = Date.now(),
  ): void {
    if (this.dirty.size === 0) return;
    if (this.flushingSince && now - this.flushingSince < FLUSH_STUCK_MS) return;
    this.flushingSince = now;
    waitUntil(
      this.flushAll()
        .catch(onError)
        .finally(() => {
          this.flushingSince = 0;
        }),
    );
  }

  private async flushAll(): Promise<void> {
    for (let i = 0; i < MAX_FLUSHES_IN_A_ROW && this.dirty.size > 0; i++) {
      // workerd's own timer: nodejs_compat's setTimeout builds a Node Timeout object each time.
      await scheduler.wait(FLUSH_DELAY_MS);
      await this.flush();
    }
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
    batch.forEach((t, i) => {
      if (at < t.at) return;
      t.known = {
        index: Math.floor(at / t.size),
        current: Number(replies[2 * i]),
        previous: Number(replies[2 * i + 1]),
      };
      t.at = at;
    });
  }

  /** Forgets limits whose counts are too old to judge on and that have nothing to send. */
  private dropStale(now: number): void {
    for (const [key, t] of this.tallies) {
      if (now - t.at > KNOWLEDGE_MAX_AGE_MS && t.pending === 0 && t.sending === 0) this.tallies.delete(key);
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
