import type { Redis } from "@upstash/redis/cloudflare";
import { BinanceError } from "./binance-errors";

/**
 * Binance's IP ban (rest-api.md, "IP Limits"): a client that keeps sending after a 429 instead
 * of backing off gets 418 with `Retry-After`, for 2 minutes at first and longer for a repeat
 * offender, up to 3 days. Here the 10th 429 an IP collects within a minute starts a ban; each
 * ban within 3 days of the last is twice as long.
 */
export const REFUSALS_BEFORE_BAN = 10;
export const FIRST_BAN_S = 120;
export const LONGEST_BAN_S = 3 * 24 * 3_600;

/** Where an IP's ban (its end, ms), its 429s of the minute and its ban count live. */
export const ipBanKeys = (ip: string) => ({
  ban: `binance:ban:${ip}`,
  refusals: `binance:refusals:${ip}`,
  bans: `binance:bans:${ip}`,
});

/**
 * One round trip: counts the refusal; at the limit, clears the count, counts the ban and sets
 * it for FIRST_BAN_S × 2^(bans − 1) seconds (at most LONGEST_BAN_S). Returns the ban's end, or 0.
 */
const RECORD_REFUSAL = `
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], 60) end
if n < tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[2])
local bans = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
local seconds = math.min(tonumber(ARGV[2]) * 2 ^ math.min(bans - 1, 30), tonumber(ARGV[3]))
local ends = tonumber(ARGV[4]) + seconds * 1000
redis.call('SET', KEYS[1], string.format('%d', ends), 'PX', seconds * 1000)
return ends
`;

/** When the IP's ban ends (ms since the epoch), or null when it is not banned. */
export async function bannedUntil(redis: Redis, ip: string): Promise<number | null> {
  const ends = Number(await redis.get<string | number>(ipBanKeys(ip).ban));
  return ends > Date.now() ? ends : null;
}

/** Counts a 429 answered to the IP; returns the end of the ban it started, if it started one. */
export async function recordRefusal(redis: Redis, ip: string, now = Date.now()): Promise<number | null> {
  const k = ipBanKeys(ip);
  const ends = await redis.eval<string[], number>(
    RECORD_REFUSAL,
    [k.ban, k.refusals, k.bans],
    [String(REFUSALS_BEFORE_BAN), String(FIRST_BAN_S), String(LONGEST_BAN_S), String(now)],
  );
  return ends > 0 ? ends : null;
}

/** Binance's 418: -1003 with the ban's end, and `Retry-After` in seconds. */
export const ipBanned = (ends: number) =>
  new BinanceError(
    418,
    -1003,
    `Way too much request weight used; IP banned until ${ends}. Please use WebSocket Streams for live updates to avoid bans.`,
    { "Retry-After": String(Math.max(1, Math.ceil((ends - Date.now()) / 1_000))) },
  );
