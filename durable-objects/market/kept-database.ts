import type { Pool } from "@neondatabase/serverless";
import { openDatabase, type Database } from "../../src/db/client";

/**
 * A Postgres Pool the object keeps between calls: workerd binds an object's I/O to the object,
 * not to one request, so the connection outlives the call that opened it and later calls skip
 * the WebSocket, startup and password round trips. Opened on first use; a failed call drops it,
 * so the next one starts on a fresh connection.
 */
export class KeptDatabase {
  private opened?: { db: Database; pool: Pool };

  constructor(private readonly env: Env) {}

  async use<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    this.opened ??= openDatabase(this.env);
    try {
      return await fn(this.opened.db);
    } catch (err) {
      const broken = this.opened;
      this.opened = undefined;
      void broken?.pool.end().catch(() => {});
      throw err;
    }
  }
}
