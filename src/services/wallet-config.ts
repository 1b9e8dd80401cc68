import type { BitcoinNetwork } from "../lib/chain-addresses";
import { parseUnits } from "../lib/money";

/** The wallet settings of wrangler.toml [vars], parsed and checked. */
export interface WalletConfig {
  bitcoinNetwork: BitcoinNetwork;
  /** Decimal strings per asset: a withdrawal above it waits for an admin. */
  approvalThresholds: Record<string, string>;
  /** Decimal strings per KYC status and asset: the most withdrawn in any 24 hours. */
  dailyLimits: Record<string, Record<string, string>>;
}

export type WalletEnv = Pick<
  Env,
  "BITCOIN_NETWORK" | "WITHDRAWAL_APPROVAL_THRESHOLDS" | "WITHDRAWAL_DAILY_LIMITS"
>;

function parseJsonObject(name: string, text: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text ?? "{}");
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Error(`${name} must be a JSON object`);
}

function decimalMap(name: string, value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [asset, amount] of Object.entries(parseJsonObject(name, JSON.stringify(value)))) {
    if (typeof amount !== "string") throw new Error(`${name}.${asset} must be a decimal string`);
    parseUnits(amount, 36, { allowZero: true }); // well-formed decimal; the asset's precision is checked on use
    out[asset] = amount;
  }
  return out;
}

export function walletConfig(env: WalletEnv): WalletConfig {
  const network = env.BITCOIN_NETWORK ?? "mainnet";
  if (network !== "mainnet" && network !== "testnet")
    throw new Error("BITCOIN_NETWORK must be mainnet or testnet");
  const limits = parseJsonObject("WITHDRAWAL_DAILY_LIMITS", env.WITHDRAWAL_DAILY_LIMITS);
  return {
    bitcoinNetwork: network,
    approvalThresholds: decimalMap(
      "WITHDRAWAL_APPROVAL_THRESHOLDS",
      parseJsonObject("WITHDRAWAL_APPROVAL_THRESHOLDS", env.WITHDRAWAL_APPROVAL_THRESHOLDS),
    ),
    dailyLimits: Object.fromEntries(
      Object.entries(limits).map(([kyc, perAsset]) => [
        kyc,
        decimalMap(`WITHDRAWAL_DAILY_LIMITS.${kyc}`, perAsset),
      ]),
    ),
  };
}

/** A configured decimal in an asset's minor units; amounts finer than the asset round down. */
export function configuredUnits(text: string | undefined, decimals: number): bigint | null {
  if (text === undefined) return null;
  const [whole = "0", fraction = ""] = text.split(".");
  return parseUnits(`${whole}${fraction ? `.${fraction.slice(0, decimals)}` : ""}`, decimals, {
    allowZero: true,
  });
}
