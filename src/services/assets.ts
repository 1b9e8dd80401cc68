import { eq } from "drizzle-orm";
import type { DbExecutor } from "../db/client";
import { assets } from "../db/schema";
import { AppError, ErrorCode, notFound, unprocessable } from "../lib/errors";
import { MoneyError, parseUnits, type ParseOptions } from "../lib/money";

export type Asset = typeof assets.$inferSelect;

/**
 * The asset named in a request. `where` says how a miss reads to the client: a path
 * parameter that names nothing is a 404, a body field a 422.
 */
export async function findAsset(db: DbExecutor, code: string, where: "path" | "body"): Promise<Asset> {
  const [asset] = /^[A-Z0-9]{2,10}$/.test(code)
    ? await db.select().from(assets).where(eq(assets.code, code))
    : [];
  if (asset) return asset;
  if (where === "path") throw notFound(`Asset ${code}`);
  throw unprocessable(`Unknown asset ${code}`, ErrorCode.UNKNOWN_ASSET, { asset: code });
}

/**
 * The asset must move on a chain, and be active unless `allowDisabled` (a deposit that already
 * happened on chain is still recorded and credited when the asset has been disabled since).
 */
export function requireOnChain(
  asset: Asset,
  options: { allowDisabled?: boolean } = {},
): NonNullable<Asset["chain"]> {
  if (asset.status !== "active" && !options.allowDisabled) {
    throw unprocessable(`${asset.code} is disabled`, ErrorCode.ASSET_DISABLED, { asset: asset.code });
  }
  if (!asset.chain) {
    throw unprocessable(`${asset.code} has no on-chain transfers`, ErrorCode.ASSET_DISABLED, {
      asset: asset.code,
    });
  }
  return asset.chain;
}

/** A decimal string in the asset's precision → minor units, or a 422 INVALID_AMOUNT naming the field. */
export function parseAmount(
  asset: Asset,
  text: string,
  field = "amount",
  options: ParseOptions = {},
): bigint {
  try {
    return parseUnits(text, asset.decimals, options);
  } catch (err) {
    if (err instanceof MoneyError) {
      throw new AppError(422, ErrorCode.INVALID_AMOUNT, err.message, {
        field,
        asset: asset.code,
        decimals: asset.decimals,
        reason: err.reason,
      });
    }
    throw err;
  }
}

/** Decimals of every asset, for formatting amounts of mixed assets. */
export async function assetDecimals(db: DbExecutor): Promise<Map<string, number>> {
  const rows = await db.select({ code: assets.code, decimals: assets.decimals }).from(assets);
  return new Map(rows.map((r) => [r.code, r.decimals]));
}
