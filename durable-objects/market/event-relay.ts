import type { Database } from "../../src/db/client";
import { forwardToAccountStreams } from "../../src/binance/user-data/forward";
import { relayOutbox } from "../../src/domain/events/event-outbox";
import { createRedis } from "../../src/http/resources";
import { describeError, type Logger } from "../../src/lib/logger";

/** Relays at most this often: under load, fewer and fuller pages (events are not latency-bound). */
const RELAY_INTERVAL_MS = 200;
/**
 * Events a relay round reads (whole pages: ~2 at 10,000 orders/s); a pass takes up to ten rounds,
 * so up to ~50,000 events every 200 ms. A round holds only the pages' compact texts (~100 bytes an
 * event): Redis's script builds the envelopes (src/domain/events/xadd-rows-script.ts).
 */
const RELAY_ROUND_EVENTS = 5_000;

/**
 * The market object's event relay: publishes the events its settler committed, beside
 * settlement, never in its way. One pass at a time; a kick during a pass asks for another.
 * A failed pass is left to the cron (src/jobs/relay-events.ts).
 */
export class EventRelay {
  private relaying = false;
  private again = false;
  private lastPass = 0;

  constructor(
    private readonly env: Env,
    private readonly log: Logger,
  ) {}

  /** Events were committed (through `db`, the settler's kept connection): publish them soon. */
  kick(db: Database): void {
    if (this.relaying) {
      this.again = true;
      return;
    }
    this.relaying = true;
    void this.passes(db).finally(() => {
      this.relaying = false;
    });
  }

  private async passes(db: Database): Promise<void> {
    try {
      do {
        this.again = false;
        const wait = this.lastPass + RELAY_INTERVAL_MS - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        this.lastPass = Date.now();
        // The hot path's client: its replies (counts) need no base64 or JSON decoding.
        const relayed = await relayOutbox(db, createRedis(this.env, { hotPath: true }), RELAY_ROUND_EVENTS, {
          waitForLock: false,
          onPublished: forwardToAccountStreams(this.env, this.log),
        });
        this.log.debug("event relay pass", { ...relayed, ms: Date.now() - this.lastPass });
        // A pass that found events goes again without waiting for a kick: kicks during a pass
        // (the settler kicks once a committed batch) only ask for another, and when the settler
        // kicked once a round (ten batches) a pass shorter than a round left the relay idle
        // while events waited (0.2-0.5 s gaps, measured). A pass that finds none ends it; a
        // failure is left to the cron.
        if (relayed.published > 0 && relayed.failed === 0) this.again = true;
      } while (this.again);
    } catch (err) {
      this.log.warn("event relay deferred to cron", describeError(err));
    }
  }
}
