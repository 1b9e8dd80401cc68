-- place_orders (0033) again, deciding before it locks: the balance rows are locked LAST, after the
-- order and audit rows are written (docs/decisions/0031-place-orders-late-lock.md). 0033 locked
-- them first and held them through its inserts (5 index entries an order, an audit row a
-- placement) and the commit, ~6.5 ms of its ~8.7 ms a call at the WebSocket order.batch load,
-- while the settler's settle_page waited for the same rows. Here a call decides from the balances
-- as committed when it reads them, writes its order and audit rows, then locks the rows in
-- (user, asset) order and checks that the decision still holds: each row's locks fit what it holds
-- now (balances_non_negative on the update), and a row on which a placement was refused for want
-- of funds still holds what it was decided on. Then the outcome is 0033's at the moment of the
-- lock. When it does not hold, or an insert meets a concurrent flush's order (23505, say a
-- client_order_id of one user sent to two markets), or a deadlock is found, the attempt is rolled
-- back to the block's start and the call redone with the rows locked first, as 0033 runs, whose
-- errors are the call's. The arguments and the answer are 0033's (the serving release calls it
-- alike); test/integration/trading/place-orders-late-lock.test.ts compares both.
CREATE OR REPLACE FUNCTION place_orders(
  -- the market's lock fence (0022): skipped when f_fence_epoch is null
  f_fence_market text, f_fence_epoch bigint,
  -- per placement: its lock, and its audit row's context and details (0, 1, … into the arrays below)
  f_lock_user uuid[], f_lock_asset text[], f_lock_amount numeric[], f_context integer[], f_detail integer[],
  -- per audit context, the fields its placements' audit rows share (f_actor_id null: each
  -- placement's lock user)
  f_actor_id uuid[], f_actor_type text[], f_ip_address text[], f_user_agent text[], f_request_id text[],
  -- the audit details, each once
  f_details jsonb[],
  -- per order row (its user, lock asset and locked amount are its placement's lock's)
  f_p integer[], f_r_id uuid[], f_market text[], f_client_order_id text[],
  f_side order_side[], f_type order_type[], f_time_in_force time_in_force[],
  f_post_only boolean[], f_self_trade_prevention self_trade_prevention[], f_price numeric[],
  f_stop_price numeric[], f_quantity numeric[], f_quote_quantity numeric[],
  f_visible_quantity numeric[], f_trailing_offset integer[], f_trailing_offset_unit text[],
  f_oco_group_id uuid[])
RETURNS json
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan
SET lock_timeout = '3s'
SET jit = off
AS $$
DECLARE
  slow_users uuid[];
  slow jsonb := '{}';
  q record;
  cur_user uuid;
  cur_key text;
  seen_ids uuid[];
  seen_coids text[];
  seen_coid_ids text[];
  avail numeric;
  created timestamptz := now();
  mark bigint;
  n_placements integer := cardinality(f_lock_user);
  n_rows integer := cardinality(f_p);
  n_contexts integer := cardinality(f_actor_type);
  bad record;
  malformed text;
  stray text;
  f_id uuid[];
  f_coid text[];
  known_ids uuid[];
  codes integer[];
  dup_ids text[];
  balance_rows json;
  -- Redone with the balance rows locked first, as 0033 runs (see the block below).
  lock_first boolean := false;
  -- Lock-first attempts ended by a deadlock (see the block below).
  deadlocks integer := 0;
  -- Each balance row whose placements were refused for want of funds: {"<user>|<asset>": the available decided on}.
  short jsonb;
  stale boolean;
BEGIN
  IF f_fence_epoch IS NOT NULL THEN
    PERFORM 1 FROM market_lock_fences f WHERE f.market = f_fence_market AND f.epoch = f_fence_epoch FOR SHARE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'pass_lock_fence: the funds locks of % are fenced off epoch %', f_fence_market, f_fence_epoch
        USING ERRCODE = 'lock_not_available';
    END IF;
    mark := nextval('orders_number_seq');
  END IF;

  IF n_placements IS NULL OR n_rows IS NULL
    OR array_fill(n_placements, ARRAY[4]) IS DISTINCT FROM ARRAY[cardinality(f_lock_asset), cardinality(f_lock_amount),
      cardinality(f_context), cardinality(f_detail)]
    OR n_contexts IS NULL
    OR array_fill(n_contexts, ARRAY[4]) IS DISTINCT FROM ARRAY[cardinality(f_actor_id), cardinality(f_ip_address),
      cardinality(f_user_agent), cardinality(f_request_id)]
    OR array_fill(n_rows, ARRAY[16]) IS DISTINCT FROM ARRAY[cardinality(f_r_id), cardinality(f_market),
      cardinality(f_client_order_id), cardinality(f_side), cardinality(f_type), cardinality(f_time_in_force),
      cardinality(f_post_only), cardinality(f_self_trade_prevention), cardinality(f_price),
      cardinality(f_stop_price), cardinality(f_quantity), cardinality(f_quote_quantity),
      cardinality(f_visible_quantity), cardinality(f_trailing_offset), cardinality(f_trailing_offset_unit),
      cardinality(f_oco_group_id)]
  THEN
    RAISE EXCEPTION 'place_orders: the per-placement arrays must all have % elements (f_lock_user''s), the per-context arrays % (f_actor_type''s) and the per-row arrays % (f_p''s)',
      n_placements, n_contexts, n_rows USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (SELECT FROM unnest(f_context, f_detail) x(c, d)
      WHERE c IS NULL OR c < 0 OR c >= n_contexts OR d IS NULL OR d < 0 OR d >= coalesce(cardinality(f_details), 0)) THEN
    RAISE EXCEPTION 'place_orders: f_context and f_detail must name an element of f_actor_type (0 .. %) and of f_details (0 .. %) for each placement',
      n_contexts - 1, coalesce(cardinality(f_details), 0) - 1 USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- One pass over the rows (the arrays zipped in the select list: no tuplestore per array):
  -- each placement's id and client id (its first row's), and the first row of each kind of
  -- malformed call. f_p numbers the placements 0, 1, … in order, each with a row (the last
  -- row's is checked below); a fenced call's rows are all of the fence's market.
  SELECT array_agg(r.id ORDER BY r.n) FILTER (WHERE r.first) AS ids,
    array_agg(r.coid ORDER BY r.n) FILTER (WHERE r.first) AS coids,
    min(r.n) FILTER (WHERE r.p IS NULL OR r.p < 0 OR r.p >= n_placements
      OR r.p - coalesce(f_p[r.n - 1], -1) NOT IN (0, 1)) AS bad_p,
    min(r.n) FILTER (WHERE f_fence_epoch IS NOT NULL AND r.market IS DISTINCT FROM f_fence_market) AS bad_market
    INTO bad
  FROM (
    SELECT r.*, r.n = 1 OR r.p IS DISTINCT FROM f_p[r.n - 1] AS first
    FROM (SELECT unnest(f_p) AS p, unnest(f_r_id) AS id, unnest(f_client_order_id) AS coid,
        unnest(f_market) AS market, generate_series(1, n_rows) AS n) r
  ) r;
  f_id := bad.ids;
  f_coid := bad.coids;
  IF bad.bad_p IS NOT NULL OR ((n_rows > 0 OR n_placements > 0) AND f_p[n_rows] IS DISTINCT FROM n_placements - 1) THEN
    malformed := 'f_p must number the placements 0, 1, … in order, each with a row';
  ELSIF bad.bad_market IS NOT NULL THEN
    malformed := format('row %s is of market %s, the fence of %s', bad.bad_market,
      coalesce(f_market[bad.bad_market], 'null'), f_fence_market);
  END IF;
  IF malformed IS NOT NULL THEN
    RAISE EXCEPTION 'place_orders: %', malformed USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- What the market's dropped foreign key checked per order, once per call (0017).
  SELECT 'unknown market ' || coalesce(k.market, 'null') INTO stray
  FROM (SELECT DISTINCT m.market FROM unnest(f_market) m(market)) k
  WHERE (SELECT m.symbol FROM markets m WHERE m.symbol = k.market) IS NULL LIMIT 1;
  IF stray IS NOT NULL THEN
    RAISE EXCEPTION 'place_orders: %', stray USING ERRCODE = 'foreign_key_violation';
  END IF;

  -- One attempt decides from the balances as read, the next (after a rollback to here) with the
  -- rows locked first. Variables keep their values across the rollback: each attempt resets its own.
  LOOP
    BEGIN
      slow := '{}';
      short := '{}';
      cur_user := NULL;
      cur_key := NULL;
      balance_rows := NULL;
      IF lock_first THEN
        -- 0033's lock: every balance row involved, in (user, asset) order.
        PERFORM 1
        FROM (SELECT DISTINCT e.uid, e.asset FROM unnest(f_lock_user, f_lock_asset) e(uid, asset)
          ORDER BY e.uid, e.asset) k
        LEFT JOIN LATERAL (
          SELECT FROM balances b WHERE b.user_id = k.uid AND b.asset = k.asset FOR UPDATE
        ) b ON true;
      END IF;

      -- Find the users whose placements need 0005's sequential decision: a row the flush could
      -- overdraw, or an id or client_order_id twice among their placements. And the placement ids
      -- already taken, in one scan of the orders' primary key (fresh ids lie past its end).
      WITH e AS (
        SELECT unnest(f_lock_user) AS uid, unnest(f_lock_asset) AS asset, unnest(f_id) AS id,
          unnest(f_coid) AS coid, unnest(f_lock_amount) AS amount
      )
      SELECT coalesce(array_agg(DISTINCT s.uid), '{}'),
        (SELECT array_agg(o.id) FROM orders o WHERE o.id = ANY(f_id))
        INTO slow_users, known_ids
      FROM (
        SELECT k.uid FROM (
          SELECT e.uid, e.asset, sum(e.amount) FILTER (WHERE e.amount > 0) AS total
          FROM e GROUP BY e.uid, e.asset ORDER BY e.uid, e.asset
        ) k LEFT JOIN LATERAL (
          SELECT b.available FROM balances b WHERE b.user_id = k.uid AND b.asset = k.asset
        ) b ON true
        WHERE k.total > coalesce(b.available, 0)
        UNION ALL
        SELECT e.uid FROM e GROUP BY e.uid, e.id HAVING count(*) > 1
        UNION ALL
        SELECT e.uid FROM e WHERE e.coid IS NOT NULL GROUP BY e.uid, e.coid HAVING count(*) > 1
      ) s;

      -- The sequential decision of 0005, for the slow users' placements only: {i: outcome}.
      IF cardinality(slow_users) > 0 THEN
        FOR q IN
          SELECT x.*,
            (SELECT b.available FROM balances b WHERE b.user_id = x.uid AND b.asset = x.asset) AS available,
            coalesce((SELECT true FROM orders o WHERE o.id = x.id), false) AS known_id,
            (SELECT o.id::text FROM orders o WHERE o.user_id = x.uid AND o.client_order_id = x.coid) AS known_coid_id
          FROM (
            SELECT (e.n - 1)::int AS i, e.uid, e.asset, e.id, e.coid, e.amount, e.n
            FROM unnest(f_lock_user, f_lock_asset, f_id, f_coid, f_lock_amount)
              WITH ORDINALITY AS e(uid, asset, id, coid, amount, n)
            WHERE e.uid = ANY(slow_users)
            OFFSET 0
          ) x
          ORDER BY x.uid, x.asset, x.n
        LOOP
          IF cur_key IS DISTINCT FROM q.uid::text || '|' || q.asset THEN
            cur_key := q.uid::text || '|' || q.asset;
            avail := coalesce(q.available, 0);
          END IF;
          IF cur_user IS DISTINCT FROM q.uid THEN
            cur_user := q.uid;
            seen_ids := '{}';
            seen_coids := '{}';
            seen_coid_ids := '{}';
          END IF;
          IF q.known_id OR q.id = ANY(seen_ids) THEN
            slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'duplicate_order'));
          ELSIF q.coid IS NOT NULL AND (q.known_coid_id IS NOT NULL OR q.coid = ANY(seen_coids)) THEN
            slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'duplicate_client_order_id',
              'order_id', coalesce(q.known_coid_id, seen_coid_ids[array_position(seen_coids, q.coid)])));
          ELSIF q.amount IS NULL OR q.amount <= 0 THEN
            slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'invalid_lock'));
          ELSIF avail < q.amount THEN
            slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'insufficient_funds'));
            short := short || jsonb_build_object(cur_key, q.available);
          ELSE
            avail := avail - q.amount;
            seen_ids := array_append(seen_ids, q.id);
            IF q.coid IS NOT NULL THEN
              seen_coids := array_append(seen_coids, q.coid);
              seen_coid_ids := array_append(seen_coid_ids, q.id::text);
            END IF;
            slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'locked'));
          END IF;
        END LOOP;
      END IF;

      -- The code per placement in the answer's "o": a locked placement's balance row's k (the rows
      -- numbered in (user, asset) order, the order they are locked in), or its refusal's (-1 .. -4).
      -- A placement decided above keeps that outcome; any other is looked up by its id (known_ids)
      -- and its client_order_id among its user's orders.
      WITH d AS (
        SELECT e.n, e.uid, e.asset, CASE
            WHEN e.decided IS NOT NULL THEN CASE e.decided->>'outcome' WHEN 'locked' THEN 0
              WHEN 'insufficient_funds' THEN -1 WHEN 'duplicate_order' THEN -2
              WHEN 'duplicate_client_order_id' THEN -3 ELSE -4 END
            WHEN e.known_id THEN -2
            WHEN e.coid_of IS NOT NULL THEN -3
            WHEN e.amount IS NULL OR e.amount <= 0 THEN -4
            ELSE 0 END AS code,
          coalesce(e.decided->>'order_id', e.coid_of::text) AS duplicate_of
        FROM (
          SELECT e.*, CASE WHEN e.decided IS NULL AND e.coid IS NOT NULL AND NOT e.known_id THEN
              (SELECT o.id FROM orders o WHERE o.user_id = e.uid AND o.client_order_id = e.coid) END AS coid_of
          FROM (
            SELECT e.*, CASE WHEN slow <> '{}' THEN slow->((e.n - 1)::text) END AS decided,
              coalesce(e.id = ANY(known_ids), false) AS known_id
            FROM (SELECT unnest(f_lock_user) AS uid, unnest(f_lock_asset) AS asset, unnest(f_id) AS id,
              unnest(f_coid) AS coid, unnest(f_lock_amount) AS amount, generate_series(1, n_placements) AS n) e
          ) e
          -- Not pulled up: coid_of is read twice, its probe made once.
          OFFSET 0
        ) e
      )
      SELECT coalesce(array_agg(CASE WHEN d.code = 0 THEN d.k ELSE d.code END ORDER BY d.n), '{}'),
        coalesce(array_agg(d.duplicate_of ORDER BY d.n) FILTER (WHERE d.code = -3), '{}')
        INTO codes, dup_ids
      FROM (SELECT d.*, (dense_rank() OVER (PARTITION BY d.code = 0 ORDER BY d.uid, d.asset) - 1)::int AS k FROM d) d;

      -- The locked placements' records: the order rows and one audit row per placement first, unlocked
      -- (the bulk of the call's work); then the balance rows locked and checked; then one lock entry
      -- per balance row (its postings carry the sum of the row's locks; named by its first order, its
      -- metadata every order with its amount) and the balance row. The entries' and postings' ids are
      -- drawn under the row's lock: a later lock of a row still gets a higher version.
      IF EXISTS (SELECT FROM unnest(codes) c WHERE c >= 0) THEN
        WITH new_orders AS (
          -- In the flush's order, which numbers them (ProjectSet yields the arrays' elements in order).
          INSERT INTO orders (id, user_id, market, client_order_id, side, type, time_in_force, post_only,
            self_trade_prevention, price, stop_price, quantity, quote_quantity, visible_quantity,
            trailing_offset, trailing_offset_unit, oco_group_id, status, lock_asset, locked_amount,
            created_at, updated_at)
          SELECT r.id, f_lock_user[r.p + 1], r.market, r.client_order_id, r.side, r.type, r.time_in_force,
            coalesce(r.post_only, false), coalesce(r.self_trade_prevention, 'expire_taker'), r.price,
            r.stop_price, r.quantity, r.quote_quantity, r.visible_quantity, r.trailing_offset,
            r.trailing_offset_unit, r.oco_group_id, 'new', f_lock_asset[r.p + 1],
            CASE WHEN r.n = 1 OR r.p <> f_p[r.n - 1] THEN f_lock_amount[r.p + 1] ELSE 0 END, created, created
          FROM (SELECT unnest(f_p) AS p, unnest(f_r_id) AS id, unnest(f_market) AS market,
              unnest(f_client_order_id) AS client_order_id, unnest(f_side) AS side, unnest(f_type) AS type,
              unnest(f_time_in_force) AS time_in_force, unnest(f_post_only) AS post_only,
              unnest(f_self_trade_prevention) AS self_trade_prevention, unnest(f_price) AS price,
              unnest(f_stop_price) AS stop_price, unnest(f_quantity) AS quantity, unnest(f_quote_quantity) AS quote_quantity,
              unnest(f_visible_quantity) AS visible_quantity, unnest(f_trailing_offset) AS trailing_offset,
              unnest(f_trailing_offset_unit) AS trailing_offset_unit, unnest(f_oco_group_id) AS oco_group_id,
              generate_series(1, n_rows) AS n) r
          WHERE codes[r.p + 1] >= 0
        )
        -- Each locked placement's context and details read by subscript (PL/pgSQL holds array
        -- arguments expanded: no walk to the element).
        INSERT INTO audit_logs (actor_id, actor_type, action, resource_type, resource_id, ip_address,
          user_agent, request_id, details)
        SELECT coalesce(f_actor_id[a.c + 1], a.uid), f_actor_type[a.c + 1], 'order.place', 'order', a.id::text,
          f_ip_address[a.c + 1], f_user_agent[a.c + 1], f_request_id[a.c + 1], coalesce(f_details[a.d + 1], '{}'::jsonb)
        FROM (SELECT unnest(f_lock_user) AS uid, unnest(f_context) AS c, unnest(f_detail) AS d,
            unnest(f_id) AS id, generate_series(1, n_placements) AS n) a
        WHERE codes[a.n] >= 0;
      END IF;

      -- A row that refused a placement for want of funds must hold what the decision read: at
      -- another amount 0033 may decide otherwise (more funds may fund it). Then every balance row
      -- involved is locked here, in (user, asset) order as every ledger entry locks them (0033's
      -- lock, last here), and checked.
      IF short <> '{}' THEN
        SELECT coalesce(bool_or(short ? (k.uid::text || '|' || k.asset)
            AND (short ->> (k.uid::text || '|' || k.asset))::numeric IS DISTINCT FROM b.available), false)
          INTO stale
        FROM (SELECT DISTINCT e.uid, e.asset FROM unnest(f_lock_user, f_lock_asset) e(uid, asset)
          ORDER BY e.uid, e.asset) k
        LEFT JOIN LATERAL (
          SELECT b.available FROM balances b WHERE b.user_id = k.uid AND b.asset = k.asset FOR UPDATE
        ) b ON true;
        IF stale THEN
          RAISE EXCEPTION 'place_orders: a balance row changed under a refusal for want of funds'
            USING ERRCODE = 'serialization_failure';
        END IF;
      END IF;

      -- The balance rows the flush locks on, locked in (user, asset) order (the lateral below; the
      -- update comes to a row only after that) and their entries' ids drawn under the lock. A row
      -- whose locks no longer fit what it holds fails the update (balances_non_negative).
      IF EXISTS (SELECT FROM unnest(codes) c WHERE c >= 0) THEN
        WITH g AS (
          SELECT codes[e.n] AS k, e.uid, e.asset, sum(e.amount) AS total,
            (array_agg(e.id ORDER BY e.n))[1]::text AS reference,
            ('{"orders":[' || string_agg('{"id":"' || e.id || '","amount":"' || e.amount || '"}', ',' ORDER BY e.n) || ']}')::jsonb AS metadata
          FROM (SELECT unnest(f_lock_user) AS uid, unnest(f_lock_asset) AS asset, unnest(f_id) AS id,
            unnest(f_lock_amount) AS amount, generate_series(1, n_placements) AS n) e
          WHERE codes[e.n] >= 0
          GROUP BY codes[e.n], e.uid, e.asset
        ), ids AS (
          SELECT g.*, nextval('ledger_entries_id_seq') AS entry,
            nextval('ledger_postings_id_seq') AS posting_a,
            nextval('ledger_postings_id_seq') AS posting_l
          FROM (SELECT * FROM g ORDER BY g.k) g
          LEFT JOIN LATERAL (
            SELECT FROM balances b WHERE b.user_id = g.uid AND b.asset = g.asset FOR UPDATE
          ) b ON true
        ), entries AS (
          INSERT INTO ledger_entries (id, type, reference, metadata)
          SELECT ids.entry, 'order.lock', ids.reference, ids.metadata FROM ids
        ), postings AS (
          INSERT INTO ledger_postings (id, entry_id, account, user_id, asset, amount)
          SELECT ids.posting_a, ids.entry, 'user_available'::ledger_account, ids.uid, ids.asset, -ids.total FROM ids
          UNION ALL
          SELECT ids.posting_l, ids.entry, 'user_locked'::ledger_account, ids.uid, ids.asset, ids.total FROM ids
        ), balance_rows AS (
          UPDATE balances b SET available = b.available - ids.total, locked = b.locked + ids.total, updated_at = now()
          FROM ids WHERE b.user_id = ids.uid AND b.asset = ids.asset
          RETURNING ids.k, b.available::text AS available, b.locked::text AS locked,
            ids.posting_l::text AS version
        )
        SELECT json_agg(json_build_array(bal.available, bal.locked, bal.version) ORDER BY bal.k)
          INTO balance_rows
        FROM balance_rows bal;
      END IF;

      EXIT;
    EXCEPTION WHEN check_violation OR unique_violation OR serialization_failure OR deadlock_detected THEN
      -- Redone lock-first; lock-first, the error is the call's (as 0033's would be), but for a
      -- deadlock: a lock-first attempt holds balance rows while it inserts, and another market's
      -- optimistic call may hold a client_order_id it inserts while it waits for one of those
      -- rows (review19). Postgres breaks the cycle by failing one of the two; once this attempt
      -- has rolled back, the other call goes on and commits, and the next lock-first attempt
      -- sees its order. Bounded: a third deadlock in a row is the call's error.
      IF lock_first AND (SQLSTATE <> '40P01' OR deadlocks >= 2) THEN
        RAISE;
      END IF;
      IF lock_first THEN
        deadlocks := deadlocks + 1;
      END IF;
      lock_first := true;
    END;
  END LOOP;

  -- The fence's mark, a code per placement, the ids the duplicate_client_order_id placements
  -- name, and each balance row the flush locked as it left it.
  RETURN json_build_object('mark', mark, 'o', to_json(codes), 'd', to_json(dup_ids), 'b', coalesce(balance_rows, '[]'));
END;
$$;
