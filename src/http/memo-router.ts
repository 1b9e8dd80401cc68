import type { Result, Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";

/** Distinct (method, path) answers kept; a path with an id in it is one entry per id. */
const MAX_ENTRIES = 2_000;
/** Longer paths (none of the app's own) are matched every time: kept, 2,000 of them could hold ~70 MB. */
const MAX_KEPT_PATH = 256;

/**
 * Hono's default router (its fast RegExpRouter, else its TrieRouter) with its answers kept per
 * (method, path). The app's routes are more than RegExpRouter takes (`/ws/:stream{…}` beside
 * `/ws/:listenKey{…}`, `/wallets/:asset/address` beside `/wallets/withdrawals/:id/cancel`), so
 * Hono falls back to the trie, whose walk past every app-wide middleware was a tenth of the CPU
 * of a one-query read. A match is a pure function of (method, path) once the routes are added
 * (Hono itself hands out shared answers for static paths, and only reads them), so an answer is
 * kept and handed out again. Bounded: past MAX_ENTRIES the oldest answer is dropped and paths
 * longer than MAX_KEPT_PATH are never kept, so paths made up by a client cost a trie walk each,
 * never memory.
 */
export class MemoRouter<T> implements Router<T> {
  name = "MemoRouter";
  private readonly inner: Router<T> = new SmartRouter<T>({
    routers: [new RegExpRouter<T>(), new TrieRouter<T>()],
  });
  private readonly answers = new Map<string, Result<T>>();

  add(method: string, path: string, handler: T): void {
    this.inner.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    if (path.length > MAX_KEPT_PATH) return this.inner.match(method, path);
    const key = `${method} ${path}`;
    let answer = this.answers.get(key);
    if (!answer) {
      answer = this.inner.match(method, path);
      if (this.answers.size >= MAX_ENTRIES) this.answers.delete(this.answers.keys().next().value!);
      this.answers.set(key, answer);
    }
    return answer;
  }
}
