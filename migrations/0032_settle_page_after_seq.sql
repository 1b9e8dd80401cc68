-- settle_page refuses a page that does not continue the cursor: with p_after_seq (the sequence
-- the page was read after: it holds every entry after it, up to its last), a cursor below it
-- answers {"status":"gap","cursor_seq":…} and writes nothing (the cursor row of a market's first
-- page aside, created at 0 as by any call). At or above it, entries at or below the cursor are
-- skipped as before (a replay, or a settler behind another). The market object's settler sends
-- a page before the one ahead of it answered (pipelined on its kept connection); if that one did
-- not settle (busy, fallback, an error, a stale epoch), the page behind it must not skip its
-- entries (docs/decisions/0027-settlement-pages-pipelined.md). Otherwise 0031's body.
-- A new argument, last, defaulting to NULL (no check): the serving release's objects, the cron
-- and the tests call it as before. The 23-argument function is dropped, or a call without the
-- argument would match both.
DROP FUNCTION settle_page(text, text, text, text, integer, boolean, bigint[], text[], bigint[], text[], uuid[],
  text[], text[], text[], text[], text[], numeric[], numeric[], text[], uuid[], uuid[], integer[], integer[]);
--> statement-breakpoint
CREATE FUNCTION settle_page(p_market text, p_epoch text, p_base_asset text, p_quote_asset text,
  p_base_decimals integer, p_wait boolean, e_seq bigint[], e_kind text[], e_ts bigint[], e_event text[],
  e_order_id uuid[], e_status text[], e_reason text[], e_trade_id text[], e_price text[], e_quantity text[],
  e_price_minor numeric[], e_quantity_minor numeric[], e_taker_side text[], e_taker_order_id uuid[],
  e_maker_order_id uuid[], e_maker_fee_bps integer[], e_taker_fee_bps integer[],
  p_after_seq bigint DEFAULT NULL) RETURNS text
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_nestloop = off
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
DECLARE
  v_n integer := coalesce(cardinality(e_seq), 0);
  v_cur_seq bigint;
  v_cur_epoch text;
  v_rows settle_entry[];
  v_top_seq bigint;
  v_n_fresh integer;
  v_n_trades integer;
  v_ids uuid[];
  v_oco boolean;
  v_known settle_known[];
  v_deltas jsonb;
  v_balance_deltas settle_delta[];
  v_changed_ids uuid[];
  v_unit numeric := ('1' || repeat('0', p_base_decimals))::numeric;
  v_ords settle_order[];
  v_trs settle_fill[];
  v_moves settle_move[];
  v_listed jsonb;
  v_problem text;
  v_problems text[];
  v_problem_seqs bigint[];
  v_entry_id bigint;
  v_result_balances json := '[]'::json;
  v_fallback CONSTANT text := '{"status":"fallback","reason":%s}';
BEGIN
  -- unnest pads shorter arrays with NULLs: a short one would settle entries without a field.
  IF EXISTS (SELECT 1 FROM unnest(ARRAY[cardinality(e_kind), cardinality(e_ts), cardinality(e_event),
      cardinality(e_order_id), cardinality(e_status), cardinality(e_reason), cardinality(e_trade_id),
      cardinality(e_price), cardinality(e_quantity), cardinality(e_price_minor), cardinality(e_quantity_minor),
      cardinality(e_taker_side), cardinality(e_taker_order_id), cardinality(e_maker_order_id),
      cardinality(e_maker_fee_bps), cardinality(e_taker_fee_bps)]) c WHERE coalesce(c, 0) <> v_n) THEN
    RAISE EXCEPTION 'settle_page: the entry arrays differ in length' USING ERRCODE = 'array_subscript_error';
  END IF;
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
  -- The page holds every entry after p_after_seq: a cursor behind it would have the entries in
  -- between skipped for good. Refused, nothing written (a pipelined page sent before the page
  -- ahead of it settled, which then did not: docs/decisions/0027).
  IF v_cur_seq < p_after_seq THEN
    RETURN json_build_object('status', 'gap', 'cursor_seq', v_cur_seq)::text;
  END IF;

  -- The page's columns zipped, once, into typed rows (every later step reads these; those that
  -- need sequence order sort what they read); in the same pass the entries settle_page leaves
  -- to the planner and the orders the page names (duplicates left to the index scan).
  SELECT array_agg(ROW(e.*)::settle_entry), max(e.seq), count(*), array_agg(x.p) FILTER (WHERE x.p IS NOT NULL),
      array_agg(e.seq) FILTER (WHERE x.p IS NOT NULL),
      array_agg(e."orderId") FILTER (WHERE e."orderId" IS NOT NULL)
        || array_agg(e."takerOrderId") FILTER (WHERE e."takerOrderId" IS NOT NULL)
        || array_agg(e."makerOrderId") FILTER (WHERE e."makerOrderId" IS NOT NULL)
    INTO v_rows, v_top_seq, v_n_fresh, v_problems, v_problem_seqs, v_ids
    FROM (SELECT unnest(e_seq) AS seq, unnest(e_kind) AS kind, unnest(e_ts) AS ts, unnest(e_event) AS event,
        unnest(e_order_id) AS "orderId", unnest(e_status) AS status, unnest(e_reason) AS reason,
        unnest(e_trade_id) AS "tradeId", unnest(e_price) AS price, unnest(e_quantity) AS quantity,
        unnest(e_price_minor) AS "priceMinor", unnest(e_quantity_minor) AS "quantityMinor",
        unnest(e_taker_side) AS "takerSide", unnest(e_taker_order_id) AS "takerOrderId",
        unnest(e_maker_order_id) AS "makerOrderId", unnest(e_maker_fee_bps) AS "makerFeeBps",
        unnest(e_taker_fee_bps) AS "takerFeeBps") e
    CROSS JOIN LATERAL (SELECT CASE
        WHEN e.kind = 'trade' AND (e."priceMinor" IS NULL OR e."quantityMinor" IS NULL) THEN 'a trade without minor units'
        WHEN e.kind = 'order' AND e.event = 'amended' THEN 'an amendment'
        WHEN NOT (e.kind = 'trade' OR (e.kind = 'order' AND e.event IN ('accepted', 'done', 'rejected', 'triggered')))
          THEN 'an entry of another kind'
      END AS p) x
    WHERE e.seq > v_cur_seq;
  IF v_n_fresh = 0 THEN
    RETURN json_build_object('status', 'ok', 'last_seq', v_cur_seq, 'entries', 0, 'trades', 0,
      'balances', '[]'::json)::text;
  END IF;
  IF v_problems IS NOT NULL THEN
    -- The first, in sequence order.
    v_problem := v_problems[array_position(v_problem_seqs, (SELECT min(s) FROM unnest(v_problem_seqs) s))];
    RETURN format(v_fallback, to_json(v_problem));
  END IF;

  -- The orders named, locked in id order and read ONCE into `v_known` (typed rows): every later
  -- step joins those, never the table again.
  SELECT array_agg(ROW(o.id, o.user_id, o.status::text, o.lock_asset, o.locked_amount, o.released_amount,
      o.consumed_amount, o.filled_quantity, o.filled_quote, o.oco_group_id IS NOT NULL)::settle_known),
      bool_or(o.oco_group_id IS NOT NULL)
    INTO v_known, v_oco
    FROM (SELECT o.id, o.user_id, o.status, o.lock_asset, o.locked_amount, o.released_amount, o.consumed_amount,
        o.filled_quantity, o.filled_quote, o.oco_group_id
      FROM orders o WHERE o.id = ANY(v_ids) ORDER BY o.id FOR UPDATE) o;
  IF v_oco THEN
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

  -- Per order: what its fills consumed and filled, its closing entry, and what it becomes. One
  -- grouping of the page's order entries and both sides of its fills: an order's closing entry
  -- is read from its group by plain aggregates, exact while it has one (two fall back).
  WITH o AS (
    SELECT e."orderId" AS id, e.seq, e.event, e.status, e.reason, e.ts, e.event IN ('done', 'rejected') AS closes
    FROM unnest(v_rows) e WHERE e.kind = 'order' AND e.event <> 'triggered'
  ), x AS (
    -- An order entry, or either side of a fill; a closing entry's fields only on its own row.
    SELECT o.id, o.event = 'accepted' AS accepted, o.event <> 'rejected' AS must_exist, NULL::numeric AS consumed,
      NULL::numeric AS base, NULL::numeric AS quote, NULL::bigint AS fill_seq,
      CASE WHEN o.closes THEN o.seq END AS close_seq, CASE WHEN o.closes THEN o.event END AS close_event,
      CASE WHEN o.closes THEN o.status END AS close_status, CASE WHEN o.closes THEN o.reason END AS close_reason,
      CASE WHEN o.closes THEN o.ts END AS close_ts
    FROM o
    UNION ALL SELECT t.buy_id, false, true, t.quote, t.base, t.quote, t.seq, NULL, NULL, NULL, NULL, NULL
    FROM unnest(v_trs) t
    UNION ALL SELECT t.sell_id, false, true, t.base, t.base, t.quote, t.seq, NULL, NULL, NULL, NULL, NULL
    FROM unnest(v_trs) t
  ), g AS (
    SELECT x.id, bool_or(x.accepted) AS accepted, bool_or(x.must_exist) AS must_exist, sum(x.consumed) AS consumed,
      sum(x.base) AS base, sum(x.quote) AS quote, count(x.fill_seq) AS fills, max(x.fill_seq) AS last_fill,
      count(x.close_seq) AS closes, min(x.close_seq) AS close_seq, max(x.close_event) AS close_event,
      max(x.close_status) AS close_status, max(x.close_reason) AS close_reason, max(x.close_ts) AS close_ts
    FROM x GROUP BY x.id
  ), planned AS (
    SELECT g.id, g.accepted, g.must_exist, o.id IS NOT NULL AS known, o.user_id, o.status AS was, o.lock_asset,
      o.locked, o.released, o.consumed + coalesce(g.consumed, 0) AS consumed,
      o.filled_quantity + coalesce(g.base, 0) AS filled_quantity, o.filled_quote + coalesce(g.quote, 0) AS filled_quote,
      g.fills, g.last_fill, g.closes, g.close_seq, g.close_event, g.close_status, g.close_reason, g.close_ts,
      -- A closing entry closes unless the order is final already; a rejection only a placement
      -- that never traded (see planSettlement).
      g.close_seq IS NOT NULL AND o.status NOT IN ('filled', 'cancelled', 'expired', 'rejected')
        AND (g.close_event = 'done' OR o.status = 'pending' OR (o.status = 'new' AND o.consumed = 0)) AS closing
    FROM g LEFT JOIN unnest(v_known) o ON o.id = g.id
  )
  SELECT
    CASE
      WHEN bool_or(p.must_exist AND NOT p.known) THEN 'an order Postgres does not have'
      WHEN bool_or(p.closes > 1) THEN 'an order closed twice'
      WHEN bool_or(p.known AND p.close_seq IS NOT NULL AND p.last_fill > p.close_seq) THEN 'a fill after its order closed'
      WHEN bool_or(p.known AND p.close_event = 'rejected' AND p.fills > 0) THEN 'a rejection of an order that filled'
      WHEN bool_or(p.known AND p.consumed + p.released > p.locked) THEN 'a fill overdrawing its lock'
    END,
    array_agg(ROW(p.id, p.user_id, p.lock_asset, p.consumed, p.filled_quantity, p.filled_quote,
      CASE WHEN p.closing THEN p.locked - p.released - p.consumed ELSE 0 END,
      CASE
        WHEN p.closing AND p.close_event = 'rejected' THEN 'rejected'
        WHEN p.closing THEN CASE WHEN p.close_status IN ('filled', 'cancelled', 'expired') THEN p.close_status ELSE 'cancelled' END
        WHEN p.fills > 0 AND p.was IN ('pending', 'new') THEN 'partially_filled'
        WHEN p.accepted AND p.was = 'pending' THEN 'new'
        ELSE p.was END,
      p.closing, p.close_seq, p.close_ts, p.close_reason)::settle_order) FILTER (WHERE p.known),
    -- The orders whose row the page changes: an acceptance of an order that is `new` already
    -- (a placement resting untouched, most of a busy page's orders) rewrites nothing.
    array_agg(p.id) FILTER (WHERE p.known AND (p.fills > 0 OR p.closing OR (p.accepted AND p.was = 'pending')))
    INTO v_problem, v_ords, v_changed_ids
    FROM planned p;
  IF v_problem IS NOT NULL THEN RETURN format(v_fallback, to_json(v_problem)); END IF;

  -- The movements (a trade's six, a closing order's release), netted per account, user and
  -- asset into typed rows: each party's side summed over the page's trades first (a group per
  -- party, not six rows per trade), then netted.
  WITH t AS (SELECT * FROM unnest(v_trs)), m AS (
    SELECT 'user_locked' AS account, t.buyer_id AS user_id, p_quote_asset AS asset, -sum(t.quote) AS amount
    FROM t GROUP BY t.buyer_id
    UNION ALL SELECT 'user_available', t.seller_id, p_quote_asset, sum(t.quote - t.seller_fee) FROM t GROUP BY t.seller_id
    UNION ALL SELECT 'fee_income', NULL::uuid, p_quote_asset, sum(t.seller_fee) FROM t
    UNION ALL SELECT 'user_locked', t.seller_id, p_base_asset, -sum(t.base) FROM t GROUP BY t.seller_id
    UNION ALL SELECT 'user_available', t.buyer_id, p_base_asset, sum(t.base - t.buyer_fee) FROM t GROUP BY t.buyer_id
    UNION ALL SELECT 'fee_income', NULL::uuid, p_base_asset, sum(t.buyer_fee) FROM t
    UNION ALL SELECT x.account, o.user_id, o.lock_asset, x.sign * o.release
    FROM unnest(v_ords) o, (VALUES ('user_locked', -1), ('user_available', 1)) AS x(account, sign)
    WHERE o.release > 0
  )
  SELECT coalesce(array_agg(ROW(n.account, n.user_id, n.asset, n.amount)::settle_move
      ORDER BY n.asset, n.account, n.user_id), '{}')
    INTO v_moves
    FROM (SELECT account, user_id, asset, sum(amount) AS amount FROM m GROUP BY account, user_id, asset) n
    WHERE n.amount <> 0;

  IF cardinality(v_moves) > 0 THEN
    -- What the entry settles, in entry order: each trade, each closing order's release.
    SELECT jsonb_agg(d.l ORDER BY d.seq) INTO v_listed FROM (
      SELECT t.seq, 'trade:' || t.trade_id AS l FROM unnest(v_trs) t
      UNION ALL
      SELECT o.close_seq, 'order.release:' || o.id FROM unnest(v_ords) o WHERE o.release > 0
    ) d;
    INSERT INTO ledger_entries (type, reference, metadata)
      VALUES ('trade.settlement', p_market || ':' || v_top_seq, jsonb_build_object('entries', v_listed))
      ON CONFLICT (type, reference) DO NOTHING RETURNING id INTO v_entry_id;
    IF v_entry_id IS NULL THEN RETURN format(v_fallback, to_json('its journal entry exists'::text)); END IF;
  END IF;

  -- Each changed order row found by its key (`ANY`: whatever the join's plan, the table is only
  -- ever read by key), its change joined from the typed rows.
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
  -- In `event_pages`, not `event_outbox`: a relay of a release before 0021 reads event_outbox
  -- only, so it never publishes a page raw (it leaves pages to a current relay).
  -- Written as text by format() (uuids need no escaping, every text field goes through to_json,
  -- null as null) and checked once by the cast to json: json_build_array looked up each
  -- argument's type output per call, ~2x the CPU of the page's JSON (0030). Compact, no spaces.
  INSERT INTO event_pages (stream, envelope, page_events)
  SELECT 'trading:events', format('{"id":"%s","timestamp":"%s","market":%s,"events":[%s]}', gen_random_uuid(),
      to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      coalesce(to_json(p_market), 'null'), string_agg(ev.e, ',' ORDER BY ev.seq))::json, sum(ev.n)
  FROM (
    -- The join and the earlier checks leave no uuid here null.
    SELECT e.seq, 1 AS n, format('["order.accepted","%s","%s"]', k.user_id, e."orderId") AS e
    FROM unnest(v_rows) e JOIN unnest(v_known) k ON k.id = e."orderId"
    WHERE e.kind = 'order' AND e.event = 'accepted'
    UNION ALL
    SELECT t.seq, 2, format('["trade.executed",%s,%s,%s,%s,"%s","%s","%s","%s"]', coalesce(to_json(t.trade_id), 'null'),
      coalesce(to_json(t.price_text), 'null'), coalesce(to_json(t.quantity_text), 'null'),
      coalesce(to_json(t.taker_side), 'null'), t.buy_id, t.buyer_id, t.sell_id, t.seller_id)
    FROM unnest(v_trs) t
    UNION ALL
    SELECT o.close_seq, 1, format('["%s","%s","%s",%s,%s]', CASE WHEN o.status = 'filled' THEN 'order.filled'
      ELSE 'order.cancelled' END, o.user_id, o.id, coalesce(to_json(o.status), 'null'),
      coalesce(to_json(nullif(o.reason, '')), 'null'))
    FROM unnest(v_ords) o WHERE o.closing
  ) ev
  HAVING count(*) > 0;

  UPDATE settlement_cursors SET last_seq = v_top_seq, epoch = coalesce(epoch, p_epoch), updated_at = now()
    WHERE market = p_market;

  -- The balances late, just before the commit: the flushes' funds locks (place_orders) wait
  -- for these rows, so they are held for the end of the statement only.
  IF v_entry_id IS NOT NULL THEN
    -- Each balance row's change (typed), and the same keyed '<user>/<asset>' for the upsert's
    -- conflict arm, which sees only the proposed row.
    SELECT array_agg(ROW(d.user_id, d.asset, d.available, d.locked)::settle_delta ORDER BY d.user_id, d.asset),
        jsonb_object_agg(d.user_id || '/' || d.asset, jsonb_build_array(d.available, d.locked))
      INTO v_balance_deltas, v_deltas
      FROM (SELECT m.user_id, m.asset,
          sum(CASE WHEN m.account = 'user_available' THEN m.amount ELSE 0 END) AS available,
          sum(CASE WHEN m.account = 'user_locked' THEN m.amount ELSE 0 END) AS locked
        FROM unnest(v_moves) m WHERE m.user_id IS NOT NULL GROUP BY 1, 2) d;
    -- Balance rows in (user, asset) order, as every ledger entry changes them (no deadlocks);
    -- one that would go negative fails the statement (balances_non_negative). A row that
    -- exists is proposed as zeros (its CHECK is on the proposal) and takes its change on conflict.
    WITH d AS (SELECT * FROM unnest(v_balance_deltas)
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
          + (v_deltas -> (excluded.user_id::text || '/' || excluded.asset) ->> 0)::numeric,
        locked = balances.locked + (v_deltas -> (excluded.user_id::text || '/' || excluded.asset) ->> 1)::numeric,
        updated_at = now()
      RETURNING user_id, asset, available, locked
    ), posted AS (
      INSERT INTO ledger_postings (entry_id, account, user_id, asset, amount)
      SELECT v_entry_id, m.account::ledger_account, m.user_id, m.asset, m.amount FROM unnest(v_moves) m
      RETURNING id, user_id, asset
    )
    SELECT coalesce(json_agg(json_build_object('user_id', u.user_id, 'asset', u.asset,
        'available', u.available::text, 'locked', u.locked::text, 'version', v.version::text)), '[]'::json)
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
