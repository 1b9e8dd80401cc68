import type { Database } from "../../db/client";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { loadMarketRules } from "./market-directory";
import { batchItemError, placementAnswer, type BatchItemResult } from "../../domain/market/placement-answer";
import {
  assertMayTrade,
  preparePlacement,
  type BookPlacement,
  type PlaceOrderRequest,
} from "../../domain/market/placement";
import { sendToBook } from "./place-order";

/**
 * Places up to MAX_BATCH_ORDERS orders, each on its own: a refused order (rules, funds, market
 * status) is an error entry in its place and never fails the others. The orders of one market
 * travel in ONE call to its object, which locks their funds in one round trip and matches them
 * in request order; markets are called in parallel. `orderIds`: ids to use (an idempotent retry).
 */
export async function placeOrderBatch(
  db: Database,
  env: Env,
  principal: Principal,
  reqs: readonly PlaceOrderRequest[],
  metadata: RequestMetadata,
  orderIds?: readonly string[],
  traceparent?: string,
): Promise<BatchItemResult[]> {
  assertMayTrade(principal);
  const results = new Array<BatchItemResult>(reqs.length);
  const byMarket = new Map<string, { index: number; placement: BookPlacement }[]>();
  for (const [index, req] of reqs.entries()) {
    try {
      const rules = await loadMarketRules(db, req.market);
      const placement = preparePlacement(rules, principal, req, metadata, orderIds?.[index]);
      const list = byMarket.get(req.market) ?? [];
      list.push({ index, placement });
      byMarket.set(req.market, list);
    } catch (err) {
      results[index] = batchItemError(err);
    }
  }
  await Promise.all(
    [...byMarket.values()].map(async (items) => {
      let answers;
      try {
        answers = await sendToBook(
          db,
          env,
          items[0]!.placement.rules.symbol,
          items.map((i) => i.placement.command),
          traceparent,
        );
      } catch (err) {
        for (const { index } of items) results[index] = batchItemError(err);
        return;
      }
      for (const [k, { index, placement }] of items.entries()) {
        results[index] = await placementAnswer(db, placement, answers[k]!).catch(batchItemError);
      }
    }),
  );
  return results;
}
