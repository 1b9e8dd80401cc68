import {
  FILLED,
  isPostOnly,
  type OrderPool,
  PRICE,
  QUANTITY,
  SHOWN,
  sideOf,
  State,
  stateOf,
  stpOf,
  tifOf,
  typeOf,
} from "./order-pool";
import type { OrderTypeName, LiveOrderView, SelfTradeName, SideName, TimeInForceName } from "./types";

const SIDES: readonly SideName[] = ["buy", "sell"];
const TYPES: readonly OrderTypeName[] = ["limit", "market", "stop_loss", "stop_limit", "trailing_stop"];
const TIFS: readonly TimeInForceName[] = ["GTC", "IOC", "FOK"];
const STPS: readonly SelfTradeName[] = ["expire_taker", "expire_maker", "expire_both"];

/** A plain-object copy of a live order (queries only; allocates). */
export function describeOrder(
  pool: OrderPool,
  slot: number,
  userId: number,
  stopPrice: number,
  ocoOrderId: number,
): LiveOrderView {
  const meta = pool.meta(slot);
  const quantity = pool.num(slot, QUANTITY);
  const filled = pool.num(slot, FILLED);
  return {
    orderId: pool.id(slot),
    userId,
    side: SIDES[sideOf(meta)]!,
    type: TYPES[typeOf(meta)]!,
    status: stateOf(meta) === State.PENDING_STOP ? "pending_stop" : "open",
    price: pool.int(slot, PRICE),
    stopPrice,
    quantity,
    filled,
    remaining: quantity - filled,
    visible: pool.num(slot, SHOWN),
    timeInForce: TIFS[tifOf(meta)]!,
    postOnly: isPostOnly(meta),
    stp: STPS[stpOf(meta)]!,
    ocoOrderId,
  };
}
