/**
 * The double-entry ledger: the ONLY code that changes balances.
 *
 * Account model (per asset):
 *   user_available(user)   funds a user can spend or withdraw         never < 0 (CHECK, row lock)
 *   user_locked(user)      funds held for a withdrawal or an order    never < 0 (CHECK, row lock)
 *   fee_income             fees the exchange earned                   grows positive
 *   external_deposits      the outside world's side of every deposit  negative: −(all deposits credited)
 *   external_withdrawals   the outside world's side of withdrawals    positive: +(all amounts sent out)
 *   adjustments            the counter-account of admin corrections   either sign
 *
 * Every movement is one journal entry whose postings sum to zero per asset, so the sum over all
 * accounts of an asset is zero at all times. The system accounts are the mirror image of the
 * users' holdings and are allowed to go negative: a deposit of 1 BTC posts +1 to the user and −1
 * to external_deposits, i.e. "the outside world gave us 1 BTC that we now owe the user". Their
 * balances are simply the sums of their postings (no row to contend on under load).
 *
 * User accounts also have a row in `balances` (available, locked), updated in the same
 * statement as the postings. Each row is changed under its row lock and must pass the
 * `balances_non_negative` CHECK on the latest committed value, so concurrent requests can never
 * overspend: the loser's statement fails and the whole entry rolls back with INSUFFICIENT_FUNDS. The reconciliation job proves that each row equals
 * the sum of its postings.
 *
 * An entry is identified by (type, reference): posting the same entry again changes nothing and
 * returns `applied: false`, so retries and replays (webhooks, settlement of fills) are safe.
 *
 * For trading: lock funds for an order (`lockFunds`), release them on cancel (`releaseFunds`),
 * and settle a fill as one entry, e.g. buyer locked −quote, seller available +quote − fee,
 * fee_income +fee, seller locked −base, buyer available +base.
 */
import { bigintJson } from "./bigint-json";
import { and, eq, sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { idKeyset, keysetPage, matching } from "../../db/keyset";
import { assets, balances, ledgerEntries, ledgerPostings } from "../../db/schema";
import { PG_CHECK_VIOLATION, isPgError } from "../../db/pg-errors";
import { AppError, ErrorCode } from "../../lib/errors";

export type SystemAccountKind = "fee_income" | "external_deposits" | "external_withdrawals" | "adjustments";
export type UserAccountKind = "user_available" | "user_locked";

export type LedgerAccount = { kind: UserAccountKind; userId: string } | { kind: SystemAccountKind };

export const userAvailable = (userId: string): LedgerAccount => ({ kind: "user_available", userId });
export const userLocked = (userId: string): LedgerAccount => ({ kind: "user_locked", userId });
export const FEE_INCOME: LedgerAccount = { kind: "fee_income" };
export const EXTERNAL_DEPOSITS: LedgerAccount = { kind: "external_deposits" };
export const EXTERNAL_WITHDRAWALS: LedgerAccount = { kind: "external_withdrawals" };
export const ADJUSTMENTS: LedgerAccount = { kind: "adjustments" };

/** A signed amount in the asset's minor units: positive increases the account, negative decreases it. */
export interface Posting {
  account: LedgerAccount;
  asset: string;
  amount: bigint;
}

export interface JournalEntryInput {
  /** What kind of movement, e.g. `deposit`, `withdrawal.lock`, `trade`. */
  type: string;
  /** What it is about (a deposit id, a withdrawal id, a trade id): unique per type. */
  reference: string;
  postings: Posting[];
  metadata?: Record<string, unknown>;
}

/**
 * A user's balance row right after an entry changed it. `version` is the id of the entry's
 * latest posting on that row: postings are inserted while the entry holds the row's lock, so a
 * later change of the same row always has a higher version (this orders balance updates that
 * travel separately, e.g. to WebSockets; `max(ledger_postings.id)` per user and asset reads it).
 */
export interface BalanceAfter {
  userId: string;
  asset: string;
  available: bigint;
  locked: bigint;
  version: bigint;
}

export interface PostResult {
  entryId: bigint;
  /** False when an entry with this (type, reference) already existed: nothing changed. */
  applied: boolean;
  /** The user balance rows the entry changed, as it left them (empty when not applied). */
  balances: BalanceAfter[];
}

export const insufficientFunds = (asset: string) =>
  new AppError(422, ErrorCode.INSUFFICIENT_FUNDS, `Insufficient ${asset} balance`, { asset });

const isUserAccount = (a: LedgerAccount): a is { kind: UserAccountKind; userId: string } =>
  a.kind === "user_available" || a.kind === "user_locked";

function accountKey(p: Posting): string {
  return `${p.asset}|${p.account.kind}|${isUserAccount(p.account) ? p.account.userId : ""}`;
}

/** Nets postings per account and checks the double-entry rule; throws on a programming error. */
function normalize(input: JournalEntryInput): Posting[] {
  if (!input.type || !input.reference) throw new Error("A journal entry needs a type and a reference");
  const netted = new Map<string, Posting>();
  const perAsset = new Map<string, bigint>();
  for (const p of input.postings) {
    if (typeof p.amount !== "bigint") throw new TypeError("Posting amounts are bigint minor units");
    const key = accountKey(p);
    const prev = netted.get(key);
    netted.set(key, { ...p, amount: (prev?.amount ?? 0n) + p.amount });
    perAsset.set(p.asset, (perAsset.get(p.asset) ?? 0n) + p.amount);
  }
  for (const [asset, sum] of perAsset) {
    if (sum !== 0n) {
      throw new AppError(500, ErrorCode.LEDGER_UNBALANCED, `Journal entry ${input.type} does not balance`, {
        asset,
        sum: sum.toString(),
      });
    }
  }
  const postings = [...netted.values()].filter((p) => p.amount !== 0n);
  if (postings.length === 0) throw new Error("A journal entry must move something");
  // Postings have no foreign keys: a user posting's balance row (written beside it) checks its
  // user and asset, so every asset must move a user's balance (decision 0015).
  const userAssets = new Set(postings.filter((p) => isUserAccount(p.account)).map((p) => p.asset));
  const unchecked = postings.find((p) => !userAssets.has(p.asset));
  if (unchecked) throw new Error(`Journal entry ${input.type} moves ${unchecked.asset} on no user's balance`);
  return postings;
}

interface RowDelta {
  userId: string;
  asset: string;
  available: bigint;
  locked: bigint;
}

/** Per (user, asset) row, in a fixed order so concurrent entries lock rows alike and never deadlock. */
function rowDeltas(postings: Posting[]): RowDelta[] {
  const rows = new Map<string, RowDelta>();
  for (const p of postings) {
    if (!isUserAccount(p.account)) continue;
    const key = `${p.account.userId}|${p.asset}`;
    const row = rows.get(key) ?? { userId: p.account.userId, asset: p.asset, available: 0n, locked: 0n };
    if (p.account.kind === "user_available") row.available += p.amount;
    else row.locked += p.amount;
    rows.set(key, row);
  }
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/** The balance CHECK refused a row: some user account would have gone negative. */
function isNegativeBalance(err: unknown): boolean {
  return isPgError(err, PG_CHECK_VIOLATION, "balances_non_negative");
}

/** What the journal entry's part of a statement returns (see `journalEntryStatement`). */
export type JournalEntryColumns = {
  ledger_entry_id: string | null;
  ledger_balances: { user_id: string; asset: string; available: string; locked: string }[];
  ledger_postings: { id: string; user_id: string | null; asset: string }[];
};

/**
 * A journal entry as parts of ONE statement: `ctes` (the entry row, and only when it is new,
 * the balance rows and the postings) and `columns` to select; `postJournalEntry` runs them
 * alone, an order placement beside its own inserts. Balance rows are upserted in (user, asset)
 * order, so concurrent entries lock alike and never deadlock; a row that would go negative
 * fails the `balances_non_negative` CHECK on the latest committed value under its row lock,
 * so concurrent entries never overspend, and the whole statement (and the caller's
 * transaction) fails: `read` turns that into INSUFFICIENT_FUNDS (422).
 */
export function journalEntryStatement(input: JournalEntryInput) {
  const postings = normalize(input);
  const rows = rowDeltas(postings);
  const ctes = sql`
    ledger_entry as (
      insert into ledger_entries (type, reference, metadata)
      values (${input.type}, ${input.reference}, ${bigintJson(input.metadata ?? {})}::jsonb)
      on conflict (type, reference) do nothing
      returning id
    ), ledger_delta as (
      select * from jsonb_to_recordset(${bigintJson(rows.map((r) => ({ ...r, user_id: r.userId })))}::jsonb)
        as d(user_id uuid, asset text, available numeric, locked numeric)
    ), ledger_balances as (
      -- Postgres checks the proposed row before it finds the conflict, so an existing row is
      -- proposed as zeros and changed by the delta; a missing one is inserted as the delta
      -- itself (negative: the CHECK refuses it, as it should).
      insert into balances (user_id, asset, available, locked)
      select d.user_id, d.asset,
        case when b.user_id is null then d.available else 0 end,
        case when b.user_id is null then d.locked else 0 end
      from ledger_entry, ledger_delta d
        left join balances b on b.user_id = d.user_id and b.asset = d.asset
      order by d.user_id, d.asset
      on conflict (user_id, asset) do update set
        available = balances.available
          + (select x.available from ledger_delta x where x.user_id = excluded.user_id and x.asset = excluded.asset),
        locked = balances.locked
          + (select x.locked from ledger_delta x where x.user_id = excluded.user_id and x.asset = excluded.asset),
        updated_at = now()
      returning user_id, asset, available::text, locked::text
    ), ledger_postings as (
      insert into ledger_postings (entry_id, account, user_id, asset, amount)
      select ledger_entry.id, p.account::ledger_account, p.user_id, p.asset, p.amount
      from ledger_entry, jsonb_to_recordset(${bigintJson(
        postings.map((p) => ({
          account: p.account.kind,
          user_id: isUserAccount(p.account) ? p.account.userId : null,
          asset: p.asset,
          amount: p.amount,
        })),
      )}::jsonb) as p(account text, user_id uuid, asset text, amount numeric)
      returning id::text, user_id, asset
    )`;
  const columns = sql`(select id::text from ledger_entry) as ledger_entry_id,
      (select coalesce(json_agg(ledger_balances), '[]') from ledger_balances) as ledger_balances,
      (select coalesce(json_agg(ledger_postings), '[]') from ledger_postings) as ledger_postings`;

  /** The statement's failure as the ledger's error (other errors pass through). */
  const failure = (err: unknown): unknown => {
    if (!isNegativeBalance(err)) return err;
    // Which row failed is not reported reliably; the first decreasing one names the asset.
    const short = rows.find((r) => r.available < 0n || r.locked < 0n) ?? rows[0]!;
    return insufficientFunds(short.asset);
  };

  /** The result from the selected columns (an existing entry is looked up: nothing changed). */
  const read = async (db: DbExecutor, out: JournalEntryColumns): Promise<PostResult> => {
    if (out.ledger_entry_id === null) {
      const [existing] = await db
        .select({ id: ledgerEntries.id })
        .from(ledgerEntries)
        .where(and(eq(ledgerEntries.type, input.type), eq(ledgerEntries.reference, input.reference)));
      return { entryId: existing!.id, applied: false, balances: [] };
    }
    const after = new Map<string, BalanceAfter>(
      out.ledger_balances.map((b) => [
        `${b.user_id}|${b.asset}`,
        {
          userId: b.user_id,
          asset: b.asset,
          available: BigInt(b.available),
          locked: BigInt(b.locked),
          version: 0n,
        },
      ]),
    );
    for (const p of out.ledger_postings) {
      const row = p.user_id === null ? undefined : after.get(`${p.user_id}|${p.asset}`);
      if (row && BigInt(p.id) > row.version) row.version = BigInt(p.id);
    }
    return { entryId: BigInt(out.ledger_entry_id), applied: true, balances: [...after.values()] };
  };
  return { ctes, columns, failure, read };
}

/** Records one journal entry and applies it to the users' balances: ONE statement, atomic on its own. */
export async function postJournalEntry(db: DbExecutor, input: JournalEntryInput): Promise<PostResult> {
  const entry = journalEntryStatement(input);
  let result;
  try {
    result = await db.execute<JournalEntryColumns>(sql`with ${entry.ctes} select ${entry.columns}`);
  } catch (err) {
    throw entry.failure(err);
  }
  return entry.read(db, result.rows[0]!);
}

export interface MoveInput {
  userId: string;
  asset: string;
  amount: bigint;
  type: string;
  reference: string;
  metadata?: Record<string, unknown>;
}

function positive(amount: bigint): bigint {
  if (amount <= 0n) throw new RangeError("The amount must be positive");
  return amount;
}

/** One entry moving `amount` of `asset` from one account to another. */
function moveEntry(from: LedgerAccount, to: LedgerAccount, m: Omit<MoveInput, "userId">): JournalEntryInput {
  const amount = positive(m.amount);
  return {
    type: m.type,
    reference: m.reference,
    metadata: m.metadata,
    postings: [
      { account: from, asset: m.asset, amount: -amount },
      { account: to, asset: m.asset, amount },
    ],
  };
}

/** The entry of a lock: available → locked. */
export function lockEntry(m: MoveInput): JournalEntryInput {
  return moveEntry(userAvailable(m.userId), userLocked(m.userId), m);
}

/** available → locked (a withdrawal request, an order placement). INSUFFICIENT_FUNDS if not available. */
export function lockFunds(db: DbExecutor, m: MoveInput): Promise<PostResult> {
  return postJournalEntry(db, lockEntry(m));
}

/** locked → available (a rejected or cancelled withdrawal, a cancelled order). */
export function releaseFunds(db: DbExecutor, m: MoveInput): Promise<PostResult> {
  return postJournalEntry(db, moveEntry(userLocked(m.userId), userAvailable(m.userId), m));
}

/** Moves `amount` from one account to another in one entry. */
export function transfer(
  db: DbExecutor,
  t: Omit<MoveInput, "userId"> & { from: LedgerAccount; to: LedgerAccount },
): Promise<PostResult> {
  return postJournalEntry(db, moveEntry(t.from, t.to, t));
}

/** A user's balance in one asset, in its minor units. */
export interface AssetBalance {
  asset: string;
  decimals: number;
  available: bigint;
  locked: bigint;
}

/** A user's balances in every asset (zero where nothing was ever posted). */
export async function getBalances(db: DbExecutor, userId: string): Promise<AssetBalance[]> {
  const rows = await db
    .select({
      asset: assets.code,
      decimals: assets.decimals,
      available: sql<string>`coalesce(${balances.available}, 0)::text`,
      locked: sql<string>`coalesce(${balances.locked}, 0)::text`,
    })
    .from(assets)
    .leftJoin(balances, and(eq(balances.asset, assets.code), eq(balances.userId, userId)))
    .orderBy(assets.code);
  return rows.map((r) => ({ ...r, available: BigInt(r.available), locked: BigInt(r.locked) }));
}

/** One user's balance in one asset (zero when none). */
export async function getBalance(
  db: DbExecutor,
  userId: string,
  asset: string,
): Promise<{ available: bigint; locked: bigint }> {
  const [row] = await db
    .select({ available: balances.available, locked: balances.locked })
    .from(balances)
    .where(and(eq(balances.userId, userId), eq(balances.asset, asset)));
  return row ?? { available: 0n, locked: 0n };
}

export interface LedgerHistoryItem {
  id: bigint;
  entryId: bigint;
  type: string;
  reference: string;
  account: UserAccountKind;
  asset: string;
  amount: bigint;
  createdAt: Date;
}

export interface LedgerHistoryQuery {
  asset?: string;
  type?: string;
  /** Return postings older than this posting id (the previous page's `next_cursor`). */
  before?: bigint;
  limit: number;
}

/** A user's postings, newest first, for cursor pagination (`before` = the last id of the previous page). */
export async function listUserPostings(
  db: DbExecutor,
  userId: string,
  q: LedgerHistoryQuery,
): Promise<{ items: LedgerHistoryItem[]; nextCursor: bigint | null }> {
  const page = await keysetPage(
    db
      .select({
        id: ledgerPostings.id,
        entryId: ledgerPostings.entryId,
        type: ledgerEntries.type,
        reference: ledgerEntries.reference,
        account: ledgerPostings.account,
        asset: ledgerPostings.asset,
        amount: ledgerPostings.amount,
        createdAt: ledgerPostings.createdAt,
      })
      .from(ledgerPostings)
      .innerJoin(ledgerEntries, eq(ledgerEntries.id, ledgerPostings.entryId))
      .$dynamic(),
    and(
      eq(ledgerPostings.userId, userId),
      matching([ledgerPostings.asset, q.asset], [ledgerEntries.type, q.type]),
    ),
    idKeyset(ledgerPostings.id, q.before),
    q.limit,
  );
  const items = page.items as LedgerHistoryItem[];
  return { items, nextCursor: page.more ? items.at(-1)!.id : null };
}
