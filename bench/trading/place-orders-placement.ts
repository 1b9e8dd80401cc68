import type { PlacementFunding } from "../../src/domain/market/commands";
import { newOrderId } from "../../src/domain/market/order-id";

/** The market whose lock fence every call of the place_orders benches passes (at epoch 1). */
export const FENCE = { market: "BTC-USDT", epoch: 1 };

/**
 * Placements a request id (`BENCH_FRAME`, default 25: a socket's order.batch frame; 1: REST's
 * single orders, every placement its own audit context).
 */
const FRAME = Number(process.env.BENCH_FRAME ?? 25);

/** One limit placement of `userId`, a third of them with a client order id. */
export function benchPlacement(userId: string, i: number): PlacementFunding {
  const buy = i % 2 === 0;
  const id = newOrderId();
  const lock = { user_id: userId, asset: buy ? "USDT" : "BTC", amount: buy ? "64000000" : "100000" };
  return {
    rows: [
      {
        id,
        user_id: userId,
        market: FENCE.market,
        client_order_id: i % 3 === 0 ? `c-${id}` : null,
        side: buy ? "buy" : "sell",
        type: "limit",
        time_in_force: "GTC",
        post_only: false,
        self_trade_prevention: "expire_taker",
        price: "6400000",
        stop_price: null,
        quantity: "100000",
        quote_quantity: null,
        visible_quantity: null,
        trailing_offset: null,
        trailing_offset_unit: null,
        oco_group_id: null,
        lock_asset: lock.asset,
        locked_amount: lock.amount,
      },
    ],
    lock,
    audit: {
      actor_id: userId,
      actor_type: "user",
      ip_address: "127.0.0.1",
      user_agent: "Mozilla/5.0 (X11; Linux x86_64) bench",
      request_id: `0b1c5e3a-9d7f-4c2e-8a61-3f5d2b7c9e10:${Math.floor(i / FRAME)}`,
      details: { market: FENCE.market, side: buy ? "buy" : "sell", type: "limit" },
    },
  };
}
