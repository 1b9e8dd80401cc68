import type { AmendMarket } from "../../src/domain/market/amend-order";
import { fromBookRules } from "../../src/domain/market/market-rules";
import { AppError, ErrorCode } from "../../src/lib/errors";
import type { OrderBook } from "../order-book";

/**
 * Another market's object, for a socket's `order.amend` of an order that lives there (the
 * socket's own market is served in place): its rules as it holds them, its outbox and its amend
 * command, over RPC.
 */
export async function otherMarket(env: Env, symbol: string): Promise<AmendMarket> {
  const book = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol)) as DurableObjectStub<OrderBook>;
  const rules = await book.getRules();
  if (!rules) throw new AppError(404, ErrorCode.MARKET_NOT_FOUND, `No market ${symbol}`);
  return {
    rules: fromBookRules(rules),
    outbox: book,
    amend: (orderId, change) => book.amend(orderId, change),
  };
}
