-- `place_orders` (the market object's group commit, see 0005 for the payload and outcomes) made
-- set-based, and writing one lock entry per balance row and flush instead of one per placement.
-- Its per-placement loop (arrays copied on every append, a JSON object built per accepted
-- placement) and the three ledger rows per placement cost more than the order rows themselves.
--   1. lock the balance rows involved, in (user, asset) order as every ledger entry does;
--   2. find the users whose placements need the sequential decision of 0005: a balance row the
--      flush could overdraw (the flush's positive locks on it add up to more than it has), or an
--      id or client_order_id twice among their placements. Only then does one placement's
--      outcome depend on another's; those users' placements are decided one by one exactly as
--      before (per user and asset in arrival order). They are few: refusals and retries;
--   3. one statement for everything else and every write: any other placement is locked unless
--      Postgres knows its id (duplicate_order) or its client_order_id (duplicate_client_order_id)
--      or its amount is not positive (invalid_lock). Written in bulk: the order rows and audit
--      rows, one per placement as before; per balance row, ONE `order.lock` entry (reference: its
--      first order of the flush, unique as an order is locked once; metadata.orders: every order
--      it locks for) with its two postings carrying the sum, and the balance row. Outcomes as
--      before, [{i, outcome, ...}]; a locked placement carries the balance its row has after the
--      flush and that row's version (the locked posting's id: a later flush's is higher), so a
--      socket shows each balance row once per flush.
CREATE OR REPLACE FUNCTION place_orders(batch jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  slow_users text[];
  slow jsonb := '{}';
  q record;
  cur_user text;
  cur_key text;
  seen_ids text[];
  seen_coids text[];
  seen_coid_ids text[];
  avail numeric;
  created timestamptz := now();
  result jsonb;
BEGIN
  PERFORM 1 FROM balances b
    JOIN (SELECT DISTINCT (e->'lock'->>'user_id')::uuid AS user_id, e->'lock'->>'asset' AS asset
          FROM jsonb_array_elements(batch) e) k ON b.user_id = k.user_id AND b.asset = k.asset
    ORDER BY b.user_id, b.asset FOR UPDATE OF b;

  WITH e AS (
    SELECT e->'lock'->>'user_id' AS uid, e->'lock'->>'asset' AS asset, e->'rows'->0->>'id' AS id,
      e->'rows'->0->>'client_order_id' AS coid, (e->'lock'->>'amount')::numeric AS amount
    FROM jsonb_array_elements(batch) e
  )
  SELECT coalesce(array_agg(DISTINCT s.uid), '{}') INTO slow_users FROM (
    SELECT t.uid FROM (
      SELECT e.uid, e.asset, sum(e.amount) FILTER (WHERE e.amount > 0) AS total FROM e GROUP BY 1, 2
    ) t LEFT JOIN balances b ON b.user_id = t.uid::uuid AND b.asset = t.asset
    WHERE t.total > coalesce(b.available, 0)
    UNION ALL
    SELECT e.uid FROM e GROUP BY e.uid, e.id HAVING count(*) > 1
    UNION ALL
    SELECT e.uid FROM e WHERE e.coid IS NOT NULL GROUP BY e.uid, e.coid HAVING count(*) > 1
  ) s;

  -- The sequential decision of 0005, for the slow users' placements only: {i: outcome}.
  IF cardinality(slow_users) > 0 THEN
    FOR q IN
      SELECT (e.ordinality - 1)::int AS i, e.value->'lock'->>'user_id' AS uid, e.value->'lock'->>'asset' AS asset,
        e.value->'rows'->0->>'id' AS id, e.value->'rows'->0->>'client_order_id' AS coid,
        (e.value->'lock'->>'amount')::numeric AS amount, b.available,
        EXISTS (SELECT 1 FROM orders o WHERE o.id = (e.value->'rows'->0->>'id')::uuid) AS known_id,
        (SELECT o.id::text FROM orders o WHERE o.user_id = (e.value->'lock'->>'user_id')::uuid
           AND o.client_order_id = e.value->'rows'->0->>'client_order_id') AS known_coid_id
      FROM jsonb_array_elements(batch) WITH ORDINALITY e
      LEFT JOIN balances b ON b.user_id = (e.value->'lock'->>'user_id')::uuid AND b.asset = e.value->'lock'->>'asset'
      WHERE e.value->'lock'->>'user_id' = ANY(slow_users)
      ORDER BY e.value->'lock'->>'user_id', e.value->'lock'->>'asset', e.ordinality
    LOOP
      IF cur_key IS DISTINCT FROM q.uid || '|' || q.asset THEN
        cur_key := q.uid || '|' || q.asset;
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
      ELSE
        avail := avail - q.amount;
        seen_ids := array_append(seen_ids, q.id);
        IF q.coid IS NOT NULL THEN
          seen_coids := array_append(seen_coids, q.coid);
          seen_coid_ids := array_append(seen_coid_ids, q.id);
        END IF;
        slow := slow || jsonb_build_object(q.i::text, jsonb_build_object('outcome', 'locked'));
      END IF;
    END LOOP;
  END IF;

  WITH p AS (
    SELECT (e.ordinality - 1)::int AS i, e.value AS v, (e.value->'lock'->>'user_id')::uuid AS uid,
      e.value->'lock'->>'asset' AS asset, (e.value->'rows'->0->>'id')::uuid AS id,
      e.value->'rows'->0->>'client_order_id' AS coid, (e.value->'lock'->>'amount')::numeric AS amount
    FROM jsonb_array_elements(batch) WITH ORDINALITY e
  ), d AS (
    SELECT p.*, CASE
        WHEN slow ? p.i::text THEN slow->p.i::text->>'outcome'
        WHEN EXISTS (SELECT 1 FROM orders o WHERE o.id = p.id) THEN 'duplicate_order'
        WHEN kc.id IS NOT NULL THEN 'duplicate_client_order_id'
        WHEN p.amount IS NULL OR p.amount <= 0 THEN 'invalid_lock'
        ELSE 'locked' END AS outcome,
      coalesce(slow->p.i::text->>'order_id', kc.id::text) AS duplicate_of
    FROM p LEFT JOIN orders kc ON p.coid IS NOT NULL AND kc.user_id = p.uid AND kc.client_order_id = p.coid
  ), a AS (
    SELECT d.* FROM d WHERE d.outcome = 'locked'
  ), g AS (
    -- One lock entry per balance row and flush: its postings carry the sum of the row's locks.
    SELECT a.uid, a.asset, sum(a.amount) AS total, min(a.i) AS first_i,
      jsonb_agg(a.id ORDER BY a.i) AS order_ids
    FROM a GROUP BY a.uid, a.asset
  ), ids AS (
    SELECT g.*, b.available - g.total AS available, b.locked + g.total AS locked,
      nextval(pg_get_serial_sequence('ledger_entries', 'id')) AS entry,
      nextval(pg_get_serial_sequence('ledger_postings', 'id')) AS posting_a,
      nextval(pg_get_serial_sequence('ledger_postings', 'id')) AS posting_l
    FROM (SELECT * FROM g ORDER BY g.first_i) g JOIN balances b ON b.user_id = g.uid AND b.asset = g.asset
  ), new_orders AS (
    INSERT INTO orders (id, user_id, market, client_order_id, side, type, time_in_force, post_only,
      self_trade_prevention, price, stop_price, quantity, quote_quantity, visible_quantity,
      trailing_offset, trailing_offset_unit, oco_group_id, status, lock_asset, locked_amount,
      created_at, updated_at)
    SELECT r.id, r.user_id, r.market, r.client_order_id, r.side, r.type, r.time_in_force,
      coalesce(r.post_only, false), coalesce(r.self_trade_prevention, 'expire_taker'), r.price,
      r.stop_price, r.quantity, r.quote_quantity, r.visible_quantity, r.trailing_offset,
      r.trailing_offset_unit, r.oco_group_id, 'new', r.lock_asset, r.locked_amount, created, created
    FROM (SELECT * FROM a ORDER BY a.i) x, jsonb_populate_recordset(NULL::orders, x.v->'rows') r
  ), entries AS (
    -- Named by the row's first order of the flush (unique: an order is locked once); the
    -- metadata lists every order the entry locks for.
    INSERT INTO ledger_entries (id, type, reference, metadata)
    SELECT ids.entry, 'order.lock', ids.order_ids->>0, jsonb_build_object('orders', ids.order_ids) FROM ids
  ), postings AS (
    INSERT INTO ledger_postings (id, entry_id, account, user_id, asset, amount)
    SELECT ids.posting_a, ids.entry, 'user_available'::ledger_account, ids.uid, ids.asset, -ids.total FROM ids
    UNION ALL
    SELECT ids.posting_l, ids.entry, 'user_locked'::ledger_account, ids.uid, ids.asset, ids.total FROM ids
  ), balance_rows AS (
    UPDATE balances b SET available = ids.available, locked = ids.locked, updated_at = now()
    FROM ids WHERE b.user_id = ids.uid AND b.asset = ids.asset
  ), audit AS (
    INSERT INTO audit_logs (actor_id, actor_type, action, resource_type, resource_id, ip_address,
      user_agent, request_id, details)
    SELECT (a.v->'audit'->>'actor_id')::uuid, a.v->'audit'->>'actor_type', 'order.place', 'order',
      a.id::text, a.v->'audit'->>'ip_address', a.v->'audit'->>'user_agent',
      a.v->'audit'->>'request_id', coalesce(a.v->'audit'->'details', '{}'::jsonb)
    FROM a
  )
  -- A locked placement carries the balance its row has after the flush and that row's version.
  SELECT coalesce(jsonb_agg(CASE d.outcome
      WHEN 'locked' THEN jsonb_build_object('i', d.i, 'outcome', 'locked', 'available', ids.available::text,
        'locked', ids.locked::text, 'version', ids.posting_l::text, 'created_at', created)
      WHEN 'duplicate_client_order_id' THEN jsonb_build_object('i', d.i, 'outcome', d.outcome, 'order_id', d.duplicate_of)
      ELSE jsonb_build_object('i', d.i, 'outcome', d.outcome) END), '[]'::jsonb)
    INTO result
  FROM d LEFT JOIN ids ON d.outcome = 'locked' AND ids.uid = d.uid AND ids.asset = d.asset;
  RETURN result;
END;
$$;
