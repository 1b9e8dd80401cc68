import { describe, expect, it } from "vitest";
import { DepthFeed, LocalBook } from "../../../durable-objects/market/market-data/depth-feed";

describe("depth feed", () => {
  it("covers every level change with consecutive update ids and keeps each level's last quantity", () => {
    const feed = new DepthFeed(10);
    expect(feed.flush()).toBeNull();
    feed.onLevel("buy", 100, 5);
    feed.onLevel("buy", 101, 2);
    feed.onLevel("buy", 100, 0);
    feed.onLevel("sell", 105, 1);
    expect(feed.flush()).toEqual({
      firstUpdateId: 11,
      lastUpdateId: 14,
      bids: [
        [101, 2],
        [100, 0],
      ],
      asks: [[105, 1]],
    });
    feed.onLevel("sell", 105, 3);
    expect(feed.flush()).toMatchObject({ firstUpdateId: 15, lastUpdateId: 15 });
  });

  it("a local book applies updates that follow on and refuses a gap", () => {
    const book = new LocalBook();
    book.applySnapshot({ last_update_id: 5, bids: [["1.00", "2"]], asks: [["2.00", "1"]] });
    expect(book.applyUpdate({ first_update_id: 3, last_update_id: 5, bids: [["1.00", "0"]], asks: [] })).toBe(
      true,
    );
    expect(book.levels().bids).toEqual([["1.00", "2"]]); // already in the snapshot: ignored
    expect(
      book.applyUpdate({
        first_update_id: 6,
        last_update_id: 7,
        bids: [
          ["1.00", "0"],
          ["0.90", "4"],
        ],
        asks: [],
      }),
    ).toBe(true);
    expect(book.levels()).toEqual({ bids: [["0.90", "4"]], asks: [["2.00", "1"]] });
    expect(book.applyUpdate({ first_update_id: 9, last_update_id: 9, bids: [], asks: [] })).toBe(false);
  });
});
