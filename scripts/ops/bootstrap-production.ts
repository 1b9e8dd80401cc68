/**
 * First production setup without the demo seed (docs/ops/deploy.md): the assets the exchange
 * lists, from a file the operator writes, and the first admin account. Markets are then created
 * by that admin through POST /api/v1/admin/markets. Idempotent: existing rows are kept.
 *
 *   DATABASE_URL=<Neon, direct> ADMIN_EMAIL=... ADMIN_PASSWORD=... \
 *     node --import tsx scripts/ops/bootstrap-production.ts assets.json
 *
 * assets.json: [{"code":"BTC","chain":"bitcoin","name":"Bitcoin","decimals":8,"confirmations":2,
 *   "withdrawal_fee":"10000","min_withdrawal":"100000"}, ...] (fees in the asset's minor units).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { assets } from "../../src/db/schema";
import { ensureAdmin } from "../lib/seed";
import { openNodeDatabase } from "../lib/node-database";

const MinorUnits = z.string().regex(/^\d{1,38}$/);
const AssetFile = z.array(
  z
    .object({
      code: z.string().regex(/^[A-Z0-9]{2,10}$/),
      chain: z.enum(["bitcoin", "ethereum"]),
      name: z.string().min(1).max(100),
      decimals: z.number().int().min(0).max(18),
      confirmations: z.number().int().min(1).max(1000),
      withdrawal_fee: MinorUnits,
      min_withdrawal: MinorUnits,
    })
    .strict(),
);

const { DATABASE_URL, ADMIN_EMAIL, ADMIN_PASSWORD } = process.env;
const file = process.argv[2];
if (!DATABASE_URL || !ADMIN_EMAIL || !ADMIN_PASSWORD || !file) {
  console.error("usage: DATABASE_URL=… ADMIN_EMAIL=… ADMIN_PASSWORD=… bootstrap-production.ts assets.json");
  process.exit(2);
}
if (ADMIN_PASSWORD.length < 16) {
  console.error("ADMIN_PASSWORD: use at least 16 characters for the first admin of production");
  process.exit(2);
}
const listed = AssetFile.parse(JSON.parse(readFileSync(file, "utf8")));
const { db, pool } = openNodeDatabase(DATABASE_URL, undefined);
try {
  if (listed.length) {
    await db
      .insert(assets)
      .values(
        listed.map((a) => ({
          code: a.code,
          chain: a.chain,
          name: a.name,
          decimals: a.decimals,
          confirmations: a.confirmations,
          withdrawalFee: BigInt(a.withdrawal_fee),
          minWithdrawal: BigInt(a.min_withdrawal),
        })),
      )
      .onConflictDoNothing();
  }
  const created = await ensureAdmin(db, ADMIN_EMAIL, ADMIN_PASSWORD);
  console.log(
    `bootstrap: ${listed.length} assets listed (existing kept); admin ${ADMIN_EMAIL} ${created ? "created" : "already present"}`,
  );
} finally {
  await pool.end();
}
