import type { EventEnvelope } from "./event-outbox";
import { expandSettledPage, settledPageUsers, type SettledPage } from "./settled-page-events";

/** A row the relay published: its text as stored, and its events if it is a settled page. */
export interface PublishedRow {
  envelope: string;
  page_events: number | null;
}

/**
 * The events of the rows one relay round published, read only when asked: the relay sends a
 * page's text to Redis as it is (xadd-rows-script.ts), so the Worker builds envelopes only for
 * a hook that wants them, and for the users it names (the user data stream's: those listening).
 */
export class PublishedEvents {
  private parsed: (SettledPage | EventEnvelope)[] | undefined;

  constructor(private readonly rows: readonly PublishedRow[]) {}

  private read(): (SettledPage | EventEnvelope)[] {
    return (this.parsed ??= this.rows.map((row) => JSON.parse(row.envelope) as SettledPage | EventEnvelope));
  }

  private isPage(i: number): boolean {
    return this.rows[i]!.page_events !== null;
  }

  /** The users of the events of the types `accept` takes. */
  users(accept: (type: string) => boolean): Set<string> {
    const out = new Set<string>();
    this.read().forEach((row, i) => {
      if (this.isPage(i)) settledPageUsers(row as SettledPage, accept, out);
      else if ((row as EventEnvelope).user_id !== null && accept((row as EventEnvelope).type)) {
        out.add((row as EventEnvelope).user_id!);
      }
    });
    return out;
  }

  /** The envelopes, in order: every one, or only those of the users in `only`. */
  envelopes(only?: ReadonlySet<string>): EventEnvelope[] {
    return this.read().flatMap((row, i) => {
      if (this.isPage(i)) return expandSettledPage(row as SettledPage, only);
      const e = row as EventEnvelope;
      return !only || (e.user_id !== null && only.has(e.user_id)) ? [e] : [];
    });
  }
}
