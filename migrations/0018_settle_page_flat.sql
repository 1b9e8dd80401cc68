-- settle_page (0016) again, cheaper per entry: it was ~115-175 µs of Postgres CPU per settled
-- entry, of which a fifth parsed and re-sorted the page (the jsonb pages, then every step
-- parsing the sorted jsonb again) and a sixth wrote one event_outbox row per event.
-- - The page comes as ONE flat JSON array of entries (`p_entries`, json: the object joins its
--   stored pages' texts without parsing them, durable-objects/market/outbox.ts), parsed once
--   into typed rows (`settle_entry[]`, sorted by sequence); the fills and the orders' changes
--   are typed rows too (`settle_fill[]`, `settle_order[]`), and so are the orders read
--   (`settle_known[]`, joined where 0016 looked each field up in a jsonb map). No step parses JSON
--   again. Nested loops are off for the function: its joins are of these rows (hashed), and its
--   reads of tables are probes by key whatever the plan (`= ANY`, `LIMIT 1`). An id that is not a uuid, or a number that is
--   not one, fails the statement (SQLSTATE 22): the caller's planner fallback, as before.
-- - The events of a page are ONE event_outbox row: `envelope` holds the page's events in a
--   compact form ({id, timestamp, market, events: [[type, ...fields]]}) and `page_events` how
--   many events it expands to; the relay (src/domain/events/settled-page-events.ts) publishes
--   them as the envelopes each event had before, in the same order, with ids derived from the
--   page's (stable across a relay's retries, so consumers still dedupe on them). Rows with
--   `page_events` null hold one envelope each, as before (every other writer).
-- What it settles and refuses is unchanged (see 0013 for the whole contract, 0016 for why every
-- large table is read by key).
ALTER TABLE "event_outbox" ADD COLUMN "page_events" integer;
--> statement-breakpoint
CREATE TYPE settle_entry AS (seq bigint, kind text, ts bigint, event text, "orderId" uuid, status text,
  reason text, "tradeId" text, price text, quantity text, "priceMinor" numeric, "quantityMinor" numeric,
  "takerSide" text, "takerOrderId" uuid, "makerOrderId" uuid, "makerFeeBps" integer, "takerFeeBps" integer);
--> statement-breakpoint
CREATE TYPE settle_fill AS (seq bigint, ts bigint, trade_id text, price_text text, quantity_text text,
  price numeric, base numeric, quote numeric, taker_side text, buy_id uuid, sell_id uuid, buyer_id uuid,
  seller_id uuid, buyer_fee numeric, seller_fee numeric);
--> statement-breakpoint
CREATE TYPE settle_known AS (id uuid, user_id uuid, status text, lock_asset text, locked numeric,
  released numeric, consumed numeric, filled_quantity numeric, filled_quote numeric, oco boolean);
--> statement-breakpoint
CREATE TYPE settle_order AS (id uuid, user_id uuid, lock_asset text, consumed numeric, filled_quantity numeric,
  filled_quote numeric, release numeric, status text, closing boolean, close_seq bigint, close_ts bigint, reason text);
--> statement-breakpoint
DROP FUNCTION IF EXISTS settle_page(text, text, jsonb, text, text, integer, boolean);
--> statement-breakpoint
CREATE FUNCTION settle_page(p_market text, p_epoch text, p_entries json, p_base_asset text,
  p_quote_asset text, p_base_decimals integer, p_wait boolean) RETURNS text
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_nestloop = off
AS $$
DECLARE
  v_cur_seq bigint;
  v_cur_epoch text;
  v_rows settle_entry[];
  v_top_seq bigint;
  v_n_fresh integer;
  v_n_trades integer;
  v_ids uuid[];
  v_known settle_known[];
  v_deltas jsonb;
  v_changed_ids uuid[];
  v_unit numeric := ('1' || repeat('0', p_base_decimals))::numeric;
  v_ords settle_order[];
  v_trs settle_fill[];
  v_moves jsonb;
  v_listed jsonb;
  v_problem text;
  v_entry_id bigint;
  v_result_balances jsonb := '[]'::jsonb;
  v_fallback CONSTANT text := '{"status":"fallback","reason":%s}';
BEGIN
  -- The cursor row, locked for this transaction (a market's first page creates it).
  IF p_wait THEN
    SELECT c.last_seq, c.epoch INTO v_cur_seq, v_cur_epoch FROM settlement_cursors c
      WHERE c.market = p_market FOR UPDATE;
  ELSE
    SELECT c.last_seq, c.epoch INTO v_cur_seq, v_cur_epoch FROM settlement_cursors c
      WHERE c.market = p_market FOR UPDATE SKIP LOCKED;
  END IF;
  IF NOT FOUND THEN
    INSERT INTO settlement_cursors (market, last_seq) VALUES (p_market, 0)
      ON CONFLICT DO NOTHING RETURNING last_seq, epoch INTO v_cur_seq, v_cur_epoch;
    IF NOT FOUND THEN
      IF NOT p_wait THEN RETURN '{"status":"busy"}'; END IF;
      SELECT c.last_seq, c.epoch INTO v_cur_seq, v_cur_epoch FROM settlement_cursors c
        WHERE c.market = p_market FOR UPDATE;
    END IF;
  END IF;
  IF p_epoch IS NOT NULL AND v_cur_epoch IS NOT NULL AND p_epoch <> v_cur_epoch THEN
    RETURN json_build_object('status', 'epoch', 'cursor_epoch', v_cur_epoch)::text;
  END IF;

  -- The page parsed once, into typed rows in sequence order (every later step reads these).
  SELECT array_agg(e ORDER BY e.seq), max(e.seq), count(*) INTO v_rows, v_top_seq, v_n_fresh
    FROM json_populate_recordset(NULL::settle_entry, p_entries) e WHERE e.seq > v_cur_seq;
  IF v_n_fresh = 0 THEN
    RETURN json_build_object('status', 'ok', 'last_seq', v_cur_seq, 'entries', 0, 'trades', 0,
      'balances', '[]'::json)::text;
  END IF;

  SELECT x.p INTO v_problem FROM (
    SELECT CASE
        WHEN e.kind = 'trade' AND (e."priceMinor" IS NULL OR e."quantityMinor" IS NULL) THEN 'a trade without minor units'
        WHEN e.kind = 'order' AND e.event = 'amended' THEN 'an amendment'
        WHEN NOT (e.kind = 'trade' OR (e.kind = 'order' AND e.event IN ('accepted', 'done', 'rejected', 'triggered')))
          THEN 'an entry of another kind'
      END AS p
    FROM unnest(v_rows) e
  ) x WHERE x.p IS NOT NULL LIMIT 1;
  IF v_problem IS NOT NULL THEN RETURN format(v_fallback, to_json(v_problem)); END IF;

  SELECT coalesce(array_agg(DISTINCT i ORDER BY i), '{}') INTO v_ids
    FROM unnest(v_rows) e, unnest(ARRAY[e."orderId", e."takerOrderId", e."makerOrderId"]) i
    WHERE i IS NOT NULL;
  -- The orders named, locked in id order and read ONCE into `v_known` (typed rows): every later
  -- step joins those, never the table again.
  SELECT array_agg(ROW(o.id, o.user_id, o.status::text, o.lock_asset, o.locked_amount, o.released_amount,
      o.consumed_amount, o.filled_quantity, o.filled_quote, o.oco_group_id IS NOT NULL)::settle_known)
    INTO v_known
    FROM (SELECT * FROM orders o WHERE o.id = ANY(v_ids) ORDER BY o.id FOR UPDATE) o;
  IF EXISTS (SELECT 1 FROM unnest(v_known) k WHERE k.oco) THEN
    RETURN format(v_fallback, to_json('an OCO leg'::text));
  END IF;
  -- A trade settled already is found by the unique (market, trade_id) index when the trades
  -- are inserted (last): the statement fails and the planner takes the page (see 0016).

  -- Each fill in minor units, as settleMinorFill computes it: quote = ⌊price × quantity / 10^base
  -- decimals⌋; each party's fee in the asset it receives, at its side's rate, rounded up.
  WITH f AS (
    SELECT e.*, div(e."priceMinor" * e."quantityMinor", v_unit) AS quote,
      CASE WHEN e."takerSide" = 'buy' THEN e."takerOrderId" ELSE e."makerOrderId" END AS buy_id,
      CASE WHEN e."takerSide" = 'buy' THEN e."makerOrderId" ELSE e."takerOrderId" END AS sell_id,
      CASE WHEN e."takerSide" = 'buy' THEN e."takerFeeBps" ELSE e."makerFeeBps" END AS buyer_bps,
      CASE WHEN e."takerSide" = 'sell' THEN e."takerFeeBps" ELSE e."makerFeeBps" END AS seller_bps
    FROM unnest(v_rows) e WHERE e.kind = 'trade'
  )
  SELECT array_agg(ROW(f.seq, f.ts, f."tradeId", f.price, f.quantity, f."priceMinor", f."quantityMinor",
      f.quote, f."takerSide", f.buy_id, f.sell_id, f.buyer_id, f.seller_id,
      div(f."quantityMinor" * f.buyer_bps + 9999, 10000), div(f.quote * f.seller_bps + 9999, 10000))::settle_fill
      ORDER BY f.seq),
    count(*), CASE WHEN bool_or(f.buyer_id IS NULL OR f.seller_id IS NULL) THEN 'a trade of an order Postgres does not have' END
    INTO v_trs, v_n_trades, v_problem
    FROM (SELECT f.*, kb.user_id AS buyer_id, ks.user_id AS seller_id
      FROM f LEFT JOIN unnest(v_known) kb ON kb.id = f.buy_id LEFT JOIN unnest(v_known) ks ON ks.id = f.sell_id) f;
  IF v_problem IS NOT NULL THEN RETURN format(v_fallback, to_json(v_problem)); END IF;
  v_trs := coalesce(v_trs, '{}');

  -- Per order: what its fills consumed and filled, its closing entry, and what it becomes.
  WITH oe AS (
    SELECT e.seq, e.ts, e.event, e."orderId", e.status, e.reason FROM unnest(v_rows) e
    WHERE e.kind = 'order' AND e.event <> 'triggered'
  ), fills AS (
    SELECT id, sum(consumed) AS consumed, sum(base) AS base, sum(quote) AS quote, count(*) AS n,
      max(seq) AS last_seq
    FROM (SELECT t.buy_id AS id, t.quote AS consumed, t.base, t.quote, t.seq FROM unnest(v_trs) t
          UNION ALL
          SELECT t.sell_id, t.base, t.base, t.quote, t.seq FROM unnest(v_trs) t) x
    GROUP BY id
  ), closes AS (
    SELECT "orderId" AS id, count(*) AS n, min(seq) AS seq,
      (array_agg(event ORDER BY seq))[1] AS event, (array_agg(status ORDER BY seq))[1] AS status,
      (array_agg(reason ORDER BY seq))[1] AS reason, (array_agg(ts ORDER BY seq))[1] AS ts
    FROM oe WHERE event IN ('done', 'rejected') GROUP BY "orderId"
  ), named AS (
    SELECT "orderId" AS id, bool_or(event = 'accepted') AS accepted, bool_or(event <> 'rejected') AS must_exist
    FROM oe GROUP BY "orderId"
    UNION ALL SELECT id, false, true FROM fills
  ), touched AS (
    SELECT id, bool_or(accepted) AS accepted, bool_or(must_exist) AS must_exist FROM named GROUP BY id
  ), planned AS (
    SELECT t.id, t.accepted, t.must_exist, o.id IS NOT NULL AS known, o.user_id, o.status AS was, o.lock_asset,
      o.locked, o.released, o.consumed + coalesce(f.consumed, 0) AS consumed,
      o.filled_quantity + coalesce(f.base, 0) AS filled_quantity, o.filled_quote + coalesce(f.quote, 0) AS filled_quote,
      coalesce(f.n, 0) AS fills, f.last_seq AS last_fill, c.n AS closes, c.seq AS close_seq, c.event AS close_event,
      c.status AS close_status, c.reason AS close_reason, c.ts AS close_ts, o.consumed AS consumed_before
    FROM touched t LEFT JOIN unnest(v_known) o ON o.id = t.id LEFT JOIN fills f ON f.id = t.id
      LEFT JOIN closes c ON c.id = t.id
  ), decided AS (
    SELECT p.*,
      -- A closing entry closes unless the order is final already; a rejection only a placement
      -- that never traded (see planSettlement).
      p.close_seq IS NOT NULL AND p.was NOT IN ('filled', 'cancelled', 'expired', 'rejected')
        AND (p.close_event = 'done' OR p.was = 'pending' OR (p.was = 'new' AND p.consumed_before = 0)) AS closing
    FROM planned p WHERE p.known
  )
  SELECT
    (SELECT CASE
        WHEN bool_or(p.must_exist AND NOT p.known) THEN 'an order Postgres does not have'
        WHEN bool_or(p.closes > 1) THEN 'an order closed twice'
        WHEN bool_or(p.known AND p.close_seq IS NOT NULL AND p.last_fill > p.close_seq) THEN 'a fill after its order closed'
        WHEN bool_or(p.known AND p.close_event = 'rejected' AND p.fills > 0) THEN 'a rejection of an order that filled'
        WHEN bool_or(p.known AND p.consumed + p.released > p.locked) THEN 'a fill overdrawing its lock'
      END FROM planned p),
    array_agg(ROW(d.id, d.user_id, d.lock_asset, d.consumed, d.filled_quantity, d.filled_quote,
      CASE WHEN d.closing THEN d.locked - d.released - d.consumed ELSE 0 END,
      CASE
        WHEN d.closing AND d.close_event = 'rejected' THEN 'rejected'
        WHEN d.closing THEN CASE WHEN d.close_status IN ('filled', 'cancelled', 'expired') THEN d.close_status ELSE 'cancelled' END
        WHEN d.fills > 0 AND d.was IN ('pending', 'new') THEN 'partially_filled'
        WHEN d.accepted AND d.was = 'pending' THEN 'new'
        ELSE d.was END,
      d.closing, d.close_seq, d.close_ts, d.close_reason)::settle_order),
    array_agg(d.id)
    INTO v_problem, v_ords, v_changed_ids
    FROM decided d;
  IF v_problem IS NOT NULL THEN RETURN format(v_fallback, to_json(v_problem)); END IF;

  -- The movements, in entry order (a trade's six, a closing order's release), netted below.
  WITH m AS (
    SELECT t.seq, 'trade:' || t.trade_id AS item, x.*
    FROM unnest(v_trs) t, LATERAL (VALUES
      ('user_locked', t.buyer_id, p_quote_asset, -t.quote),
      ('user_available', t.seller_id, p_quote_asset, t.quote - t.seller_fee),
      ('fee_income', NULL::uuid, p_quote_asset, t.seller_fee),
      ('user_locked', t.seller_id, p_base_asset, -t.base),
      ('user_available', t.buyer_id, p_base_asset, t.base - t.buyer_fee),
      ('fee_income', NULL::uuid, p_base_asset, t.buyer_fee)) AS x(account, user_id, asset, amount)
    UNION ALL
    SELECT o.close_seq, 'order.release:' || o.id, x.*
    FROM unnest(v_ords) o, LATERAL (VALUES
      ('user_locked', o.user_id, o.lock_asset, -o.release),
      ('user_available', o.user_id, o.lock_asset, o.release)) AS x(account, user_id, asset, amount)
    WHERE o.release > 0
  )
  SELECT
    (SELECT coalesce(jsonb_agg(jsonb_build_object('account', account, 'user_id', user_id, 'asset', asset,
        'amount', amount) ORDER BY asset, account, user_id), '[]'::jsonb)
      FROM (SELECT account, user_id, asset, sum(amount) AS amount FROM m GROUP BY account, user_id, asset) n
      WHERE amount <> 0),
    (SELECT coalesce(jsonb_agg(l ORDER BY seq), '[]'::jsonb) FROM (SELECT DISTINCT seq, item AS l FROM m) d)
    INTO v_moves, v_listed;

  IF jsonb_array_length(v_moves) > 0 THEN
    INSERT INTO ledger_entries (type, reference, metadata)
      VALUES ('trade.settlement', p_market || ':' || v_top_seq, jsonb_build_object('entries', v_listed))
      ON CONFLICT (type, reference) DO NOTHING RETURNING id INTO v_entry_id;
    IF v_entry_id IS NULL THEN RETURN format(v_fallback, to_json('its journal entry exists'::text)); END IF;
  END IF;

  -- Each order row found by its key (`ANY`: whatever the join's plan, the table is only ever
  -- read by key), its change joined from the typed rows.
  UPDATE orders o SET
    status = c.status::order_status,
    consumed_amount = c.consumed,
    released_amount = o.released_amount + c.release,
    filled_quantity = c.filled_quantity,
    filled_quote = c.filled_quote,
    closed_at = CASE WHEN c.closing THEN to_timestamp(c.close_ts / 1000.0) ELSE o.closed_at END,
    updated_at = now()
  FROM unnest(v_ords) c
  WHERE o.id = ANY(v_changed_ids) AND o.id = c.id;

  -- The page's events as ONE row, in entry order (a trade: one element, the buyer's then the
  -- seller's event when expanded): [type, user, order] for an acceptance, [type, trade, price,
  -- quantity, taker side, buy order, buyer, sell order, seller] for a trade, [type, user, order,
  -- status, reason] for a closing order. The relay expands them (settled-page-events.ts).
  INSERT INTO event_outbox (stream, envelope, page_events)
  SELECT 'trading:events', jsonb_build_object('id', gen_random_uuid(),
      'timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'market', p_market, 'events', jsonb_agg(ev.e ORDER BY ev.seq)), sum(ev.n)
  FROM (
    SELECT e.seq, 1 AS n, jsonb_build_array('order.accepted', k.user_id, e."orderId") AS e
    FROM unnest(v_rows) e JOIN unnest(v_known) k ON k.id = e."orderId"
    WHERE e.kind = 'order' AND e.event = 'accepted'
    UNION ALL
    SELECT t.seq, 2, jsonb_build_array('trade.executed', t.trade_id, t.price_text, t.quantity_text, t.taker_side,
      t.buy_id, t.buyer_id, t.sell_id, t.seller_id)
    FROM unnest(v_trs) t
    UNION ALL
    SELECT o.close_seq, 1, jsonb_build_array(CASE WHEN o.status = 'filled' THEN 'order.filled'
      ELSE 'order.cancelled' END, o.user_id, o.id, o.status, nullif(o.reason, ''))
    FROM unnest(v_ords) o WHERE o.closing
  ) ev
  HAVING count(*) > 0;

  UPDATE settlement_cursors SET last_seq = v_top_seq, epoch = coalesce(epoch, p_epoch), updated_at = now()
    WHERE market = p_market;

  -- The balances late, just before the commit: the flushes' funds locks (place_orders) wait
  -- for these rows, so they are held for the end of the statement only.
  IF v_entry_id IS NOT NULL THEN
    -- Each balance row's change, keyed '<user>/<asset>' (the upsert looks its row's up).
    SELECT jsonb_object_agg(d.user_id || '/' || d.asset, jsonb_build_object('user_id', d.user_id, 'asset', d.asset,
        'available', d.available, 'locked', d.locked))
      INTO v_deltas
      FROM (SELECT x->>'user_id' AS user_id, x->>'asset' AS asset,
          sum(CASE WHEN x->>'account' = 'user_available' THEN (x->>'amount')::numeric ELSE 0 END) AS available,
          sum(CASE WHEN x->>'account' = 'user_locked' THEN (x->>'amount')::numeric ELSE 0 END) AS locked
        FROM jsonb_array_elements(v_moves) x WHERE x->>'user_id' IS NOT NULL GROUP BY 1, 2) d;
    -- Balance rows in (user, asset) order, as every ledger entry changes them (no deadlocks);
    -- one that would go negative fails the statement (balances_non_negative). A row that
    -- exists is proposed as zeros (its CHECK is on the proposal) and takes its change on conflict.
    WITH d AS (
      SELECT (x.value->>'user_id')::uuid AS user_id, x.value->>'asset' AS asset,
        (x.value->>'available')::numeric AS available, (x.value->>'locked')::numeric AS locked
      FROM jsonb_each(v_deltas) x
    ), upserted AS (
      INSERT INTO balances (user_id, asset, available, locked)
      SELECT d.user_id, d.asset,
        CASE WHEN b.found THEN 0 ELSE d.available END,
        CASE WHEN b.found THEN 0 ELSE d.locked END
      FROM d LEFT JOIN LATERAL (SELECT true AS found FROM balances b
        WHERE b.user_id = d.user_id AND b.asset = d.asset LIMIT 1) b ON true
      ORDER BY d.user_id, d.asset
      ON CONFLICT (user_id, asset) DO UPDATE SET
        available = balances.available
          + (v_deltas -> (excluded.user_id::text || '/' || excluded.asset) ->> 'available')::numeric,
        locked = balances.locked + (v_deltas -> (excluded.user_id::text || '/' || excluded.asset) ->> 'locked')::numeric,
        updated_at = now()
      RETURNING user_id, asset, available, locked
    ), posted AS (
      INSERT INTO ledger_postings (entry_id, account, user_id, asset, amount)
      SELECT v_entry_id, (x->>'account')::ledger_account, (x->>'user_id')::uuid, x->>'asset', (x->>'amount')::numeric
      FROM jsonb_array_elements(v_moves) x
      RETURNING id, user_id, asset
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object('user_id', u.user_id, 'asset', u.asset,
        'available', u.available::text, 'locked', u.locked::text, 'version', v.version::text)), '[]'::jsonb)
      INTO v_result_balances
      FROM upserted u
      JOIN (SELECT user_id, asset, max(id) AS version FROM posted WHERE user_id IS NOT NULL GROUP BY 1, 2) v
        ON v.user_id = u.user_id AND v.asset = u.asset;
  END IF;
  -- Last, so that `created_at` is as close to the commit as the statement gets.
  INSERT INTO trades (market, trade_id, seq, price, quantity, quote_amount, taker_side, buy_order_id,
    sell_order_id, buyer_id, seller_id, buyer_fee, seller_fee, executed_at, created_at)
  SELECT p_market, t.trade_id, t.seq, t.price, t.base, t.quote, t.taker_side::order_side, t.buy_id, t.sell_id,
    t.buyer_id, t.seller_id, t.buyer_fee, t.seller_fee, to_timestamp(t.ts / 1000.0), clock_timestamp()
  FROM unnest(v_trs) t;

  RETURN json_build_object('status', 'ok', 'last_seq', v_top_seq, 'entries', v_n_fresh, 'trades', v_n_trades,
    'balances', v_result_balances)::text;
END;
$$;
