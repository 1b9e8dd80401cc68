import { SELF_TRADE_NAMES, SIDE_NAMES, TIME_IN_FORCE_NAMES, TYPE_NAMES } from "./codes";
import * as record from "./order-pool";
import type { LiveOrderView } from "./types";

/** A plain-object copy of a live order (queries only; allocates). */
export function describeOrder(
  pool: record.OrderPool,
  slot: number,
  userId: number,
  stopPrice: number,
  ocoOrderId: number,
): LiveOrderView {
  const meta = pool.meta(slot);
  const quantity = pool.num(slot, record.QUANTITY);
  const filled = pool.num(slot, record.FILLED);
  return {
    orderId: pool.id(slot),
    userId,
    side: SIDE_NAMES[record.sideOf(meta)]!,
    type: TYPE_NAMES[record.typeOf(meta)]!,
    status: record.stateOf(meta) === record.State.PENDING_STOP ? "pending_stop" : "open",
    price: pool.int(slot, record.PRICE),
    stopPrice,
    quantity,
    filled,
    remaining: quantity - filled,
    visible: pool.num(slot, record.SHOWN),
    timeInForce: TIME_IN_FORCE_NAMES[record.tifOf(meta)]!,
    postOnly: record.isPostOnly(meta),
    stp: SELF_TRADE_NAMES[record.stpOf(meta)]!,
    ocoOrderId,
  };
}
