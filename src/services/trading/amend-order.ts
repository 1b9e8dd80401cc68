import type { Database } from "../../db/client";
import {
  amendOrder as amendIn,
  type AmendOrderRequest,
  type AmendOrderResult,
} from "../../domain/market/amend-order";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { configureOrderBook, loadMarketRules, orderBook } from "./market-directory";
import { toBookRules } from "../../domain/market/market-rules";

/**
 * `PATCH /api/v1/orders/{id}` (src/domain/market/amend-order.ts has the rules): the order's
 * market is reached over RPC; an object that lost its rules is configured and asked again.
 */
export function amendOrder(
  db: Database,
  env: Env,
  principal: Principal,
  orderId: string,
  req: AmendOrderRequest,
  metadata: RequestMetadata,
): Promise<AmendOrderResult> {
  return amendIn(
    db,
    async (symbol) => {
      const rules = await loadMarketRules(db, symbol);
      const book = orderBook(env, symbol);
      return {
        rules,
        outbox: book,
        amend: async (id, change) => {
          const result = await book.amend(id, change);
          if (result.ok || result.code !== "MARKET_NOT_FOUND") return result;
          await configureOrderBook(env, toBookRules(rules));
          return book.amend(id, change);
        },
      };
    },
    principal,
    orderId,
    req,
    metadata,
  );
}
