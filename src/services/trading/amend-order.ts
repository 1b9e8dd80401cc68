import type { Database } from "../../db/client";
import {
  amendOrder as amendIn,
  type AmendOrderRequest,
  type AmendOrderResult,
} from "../../domain/market/amend-order";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { askBook, loadMarketRules, orderBook } from "./market-directory";

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
      return {
        rules,
        outbox: orderBook(env, symbol),
        amend: (id, change) => askBook(env, db, symbol, (book) => book.amend(id, change)),
      };
    },
    principal,
    orderId,
    req,
    metadata,
  );
}
