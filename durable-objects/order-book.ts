import { DurableObject } from "cloudflare:workers";

/**
 * One object per market, addressed by the market symbol: the single writer of that
 * market's order book. The matching engine lives in ./engine (pure TypeScript).
 */
export class OrderBook extends DurableObject<Env> {
  /** Liveness probe used by readiness checks and tests. */
  async ping(): Promise<string> {
    return "pong";
  }
}
