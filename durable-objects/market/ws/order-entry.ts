import type { Database } from "../../../src/db/client";
import { recordAudit } from "../../../src/domain/audit-log";
import { amendOrder, type AmendMarket } from "../../../src/domain/market/amend-order";
import type { CommandResult, MarketCommand, OrderLookup } from "../../../src/domain/market/commands";
import type { MarketRules } from "../../../src/domain/market/market-rules";
import { AmendOrderSchema, PlaceOrderSchema } from "../../../src/domain/market/order-body";
import { checkedPlaceOrder } from "../../../src/domain/market/order-body-check";
import { newOrderId } from "../../../src/domain/market/order-id";
import {
  assertMayTrade,
  preparePlacement,
  type BookPlacement,
  type PlaceOrderRequest,
} from "../../../src/domain/market/placement";
import {
  batchItemError,
  bookAnswer,
  placementAnswer,
  type BatchItemResult,
} from "../../../src/domain/market/placement-answer";
import type { Principal } from "../../../src/http/principal";
import type { RequestMetadata } from "../../../src/http/request-metadata";
import { AppError, ErrorCode, forbidden, notFound, unauthorized } from "../../../src/lib/errors";
import { frameRequestId } from "./frame-request-id";
import type { OrderMessage } from "./protocol";

/** What order entry needs of the market's object. */
export interface OrderEntryHost {
  symbol(): string;
  rules(): MarketRules | null;
  /** The object's intake: the same queue, locks and rules as a REST placement. */
  submit(commands: MarketCommand[]): Promise<CommandResult[]>;
  lookup(query: { orderId?: string; clientOrderId?: string; userId?: string }): OrderLookup;
  /** A database for the rare calls that need one (an idempotent replay, an amend, an audit row). */
  withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  /** The market an order to amend lives in (this one, or another market's object). */
  marketOf(symbol: string): Promise<AmendMarket>;
}

export type OrderEntryReply =
  { result: unknown } | { error: { code: string; message: string; details?: unknown } };

const CANCEL_ERRORS: Record<string, () => AppError> = {
  ORDER_NOT_FOUND: () => notFound("Order"),
  ORDER_NOT_OPEN: () => new AppError(409, ErrorCode.ORDER_NOT_OPEN, "The order is no longer open"),
};

function invalid(issues: { path: PropertyKey[]; message: string }[]): AppError {
  const issue = issues[0];
  return new AppError(
    422,
    ErrorCode.VALIDATION_FAILED,
    `The order is invalid${issue ? `: ${issue.path.join(".") || "order"} ${issue.message}` : ""}`,
    { issues: issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
  );
}

function trading(principal: Principal | null): Principal {
  if (!principal)
    throw unauthorized("Authenticate the socket first (the auth op or an authenticated upgrade)");
  if (!principal.permissions.includes("trade")) throw forbidden("This API key may not trade");
  assertMayTrade(principal);
  return principal;
}

/**
 * The socket's order entry: `order.place`, `order.batch`, `order.cancel` and `order.amend` with
 * the bodies of the REST calls, refused with the same codes, and placed through the same intake as REST (one
 * validation, one lock path, the same audit rows). Never throws: a refusal is an error reply.
 */
export async function handleOrderMessage(
  host: OrderEntryHost,
  principal: Principal | null,
  client: RequestMetadata,
  msg: OrderMessage,
): Promise<OrderEntryReply> {
  try {
    const who = trading(principal);
    const metadata = { ...client, requestId: frameRequestId() };
    const rules = host.rules();
    if (!rules) throw new AppError(404, ErrorCode.MARKET_NOT_FOUND, "This market is not configured");
    switch (msg.op) {
      case "order.place":
        return { result: await place(host, who, metadata, rules, msg.order) };
      case "order.batch":
        return { result: { results: await placeBatch(host, who, metadata, rules, msg.orders) } };
      case "order.cancel":
        return { result: await cancel(host, who, metadata, msg) };
      case "order.amend":
        return { result: await amend(host, who, metadata, msg) };
    }
  } catch (err) {
    if (err instanceof AppError) {
      return {
        error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
      };
    }
    throw err;
  }
}

/** The body through the REST schema itself: what the lean check was not sure of, refused in its words. */
function schemaChecked(body: Record<string, unknown>, market: string): PlaceOrderRequest {
  const parsed = PlaceOrderSchema.safeParse({ market, ...body });
  if (!parsed.success) throw invalid(parsed.error.issues);
  return parsed.data as PlaceOrderRequest;
}

/**
 * `at`: the frame's time, read once for all its placements (workerd's clock stands still
 * within a turn; each read, and each Date, cost the object's thread per order).
 */
function prepare(
  principal: Principal,
  metadata: RequestMetadata,
  rules: MarketRules,
  body: Record<string, unknown>,
  at: Date,
): BookPlacement {
  const request = checkedPlaceOrder(body, rules.symbol) ?? schemaChecked(body, rules.symbol);
  if (request.market !== rules.symbol) {
    throw new AppError(422, ErrorCode.INVALID_ORDER, `This socket places orders in ${rules.symbol} only`);
  }
  const placement = preparePlacement(rules, principal, request, metadata, newOrderId(at.getTime()), at);
  // A fresh id, answered here: never replayed, so its full result need not be kept.
  placement.command.replay = "none";
  return placement;
}

/** Only a replay reads Postgres (its rows are the first attempt's); any other answer is made at once. */
function answer(host: OrderEntryHost, placement: BookPlacement, result: CommandResult) {
  return result.ok && result.duplicate
    ? host.withDatabase((db) => placementAnswer(db, placement, result))
    : bookAnswer(placement, result);
}

async function place(
  host: OrderEntryHost,
  principal: Principal,
  metadata: RequestMetadata,
  rules: MarketRules,
  body: Record<string, unknown>,
) {
  const placement = prepare(principal, metadata, rules, body, new Date());
  const [result] = await host.submit([placement.command]);
  return answer(host, placement, result!);
}

/**
 * `order.batch`: up to MAX_BATCH_ORDERS placements in one frame, each on its own (as
 * `POST /api/v1/orders/batch`), in ONE trip through the intake.
 */
async function placeBatch(
  host: OrderEntryHost,
  principal: Principal,
  metadata: RequestMetadata,
  rules: MarketRules,
  bodies: Record<string, unknown>[],
): Promise<BatchItemResult[]> {
  const results = new Array<BatchItemResult>(bodies.length);
  const prepared: { index: number; placement: BookPlacement }[] = [];
  const at = new Date();
  bodies.forEach((body, index) => {
    try {
      prepared.push({ index, placement: prepare(principal, metadata, rules, body, at) });
    } catch (err) {
      results[index] = batchItemError(err);
    }
  });
  const answers = prepared.length ? await host.submit(prepared.map((p) => p.placement.command)) : [];
  for (const [k, { index, placement }] of prepared.entries()) {
    try {
      const answered = answer(host, placement, answers[k]!);
      results[index] = answered instanceof Promise ? await answered : answered;
    } catch (err) {
      results[index] = batchItemError(err);
    }
  }
  return results;
}

async function cancel(
  host: OrderEntryHost,
  principal: Principal,
  metadata: RequestMetadata,
  msg: Extract<OrderMessage, { op: "order.cancel" }>,
) {
  const orderId =
    msg.order_id ?? host.lookup({ clientOrderId: msg.client_order_id, userId: principal.userId }).orderId;
  if (!orderId) throw notFound("Order");
  const [result] = await host.submit([{ kind: "cancel", orderId, userId: principal.userId }]);
  if (!result!.ok) throw (CANCEL_ERRORS[result!.code] ?? CANCEL_ERRORS.ORDER_NOT_OPEN!)();
  await host.withDatabase((db) =>
    recordAudit(db, {
      actorId: principal.userId,
      actorType: principal.via === "api_key" ? "api_key" : "user",
      action: "order.cancel",
      resourceType: "order",
      resourceId: orderId,
      details: { market: host.symbol(), result: "cancelled", via: "websocket" },
      metadata,
    }),
  );
  return { cancelled: result!.cancelled ?? [] };
}

async function amend(
  host: OrderEntryHost,
  principal: Principal,
  metadata: RequestMetadata,
  msg: Extract<OrderMessage, { op: "order.amend" }>,
) {
  const parsed = AmendOrderSchema.safeParse(msg.order);
  if (!parsed.success) throw invalid(parsed.error.issues);
  return host.withDatabase((db) =>
    amendOrder(db, (symbol) => host.marketOf(symbol), principal, msg.order_id, parsed.data, metadata),
  );
}
