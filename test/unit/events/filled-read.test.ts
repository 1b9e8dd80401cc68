import { describe, expect, it } from "vitest";
import { filledRead } from "../../../src/domain/events/event-outbox";

const single = { page_events: null };
const page = (events: number) => ({ page_events: events });

describe("filledRead", () => {
  it("says a read short of the limit in rows and events held every pending row", () => {
    expect(filledRead([], 5)).toBe(false);
    expect(filledRead([single, page(2), single], 5)).toBe(false);
  });

  it("says a read of `limit` rows may have left rows unread", () => {
    expect(filledRead([single, single, single], 3)).toBe(true);
  });

  it("says a read of `limit` events may have left rows unread, however few its rows", () => {
    expect(filledRead([page(4), single], 5)).toBe(true);
    expect(filledRead([page(900)], 500)).toBe(true);
  });
});
