export { DoneReason, EventKind, OK, Reject, type RejectReason } from "./codes";
export { EventBuffer, type EngineEvent } from "./event-buffer";
export { MatchingEngine, type ResolvedConfig } from "./matching-engine";
export type {
  Amendment,
  Command,
  Depth,
  EngineConfig,
  LiveOrderStatus,
  OrderTypeName,
  LiveOrderView,
  PlaceOco,
  PlaceOrder,
  SelfTradeName,
  SideName,
  TimeInForceName,
  TrailingUnitName,
} from "./types";
