-- The market object's group commit (durable-objects/market/funds-locker.ts): every placement
-- that reached the object since its last flush is recorded and funded in ONE round trip, with
-- an outcome per placement, so one refused order never fails the others.
--
-- `batch` is a JSON array of {rows: [orders rows], lock: {user_id, asset, amount}, audit: {...}}
-- (an OCO has two rows and one lock). Set-based: a handful of statements per call whatever its
-- size (a statement per placement cost ~1 ms each and capped the market near 1,000 orders/s).
--   1. read what makes a placement a duplicate (a known order id, a used client_order_id) and
--      lock the balance rows involved, in (user, asset) order as every ledger entry does, so
--      concurrent flushes and settlement never deadlock;
--   2. decide in memory, per balance row in arrival order: duplicate, invalid lock,
--      insufficient funds (what earlier placements of the batch locked counts), or locked
--      (one pass ordered by user, asset and arrival; no per-placement statement, no map that
--      grows with the batch);
--   3. write the accepted ones in bulk: order rows (`new`), the lock's journal entry
--      (`order.lock`, reference = the first row's id) with its two postings, exactly as
--      `lockEntry` in src/services/ledger.ts writes them, the balance rows, the audit rows.
-- Returns [{i, outcome, ...}] with i the placement's index in `batch`; a locked placement
-- carries the balance it left and its `version` (the id of its locked posting, see BalanceAfter).
-- A client_order_id that a concurrent flush of another market inserts first fails the whole
-- call (unique violation): the object then reports every placement of the flush as not placed.
CREATE OR REPLACE FUNCTION place_orders(batch jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  known_ids uuid[];
  known_coids jsonb;
  cur_user text;
  cur_key text;
  seen_ids text[];
  seen_coids text[];
  seen_coid_ids text[];
  coid text;
  amount numeric;
  avail numeric;
  held numeric;
  changed boolean := false;
  decided jsonb[] := '{}';
  accepted jsonb[] := '{}';
  finals jsonb[] := '{}';
  entry_id bigint;
  available_posting bigint;
  locked_posting bigint;
  created timestamptz := now();
BEGIN
  -- `= ANY(array)`: index lookups, whatever the size of the orders table.
  SELECT coalesce(array_agg(o.id), '{}') INTO known_ids FROM orders o
    WHERE o.id = ANY(ARRAY(SELECT (r->>'id')::uuid FROM jsonb_array_elements(batch) e,
                           jsonb_array_elements(e->'rows') r));
  SELECT coalesce(jsonb_object_agg(o.user_id::text || '|' || o.client_order_id, o.id), '{}') INTO known_coids
    FROM orders o
    JOIN (SELECT DISTINCT (e->'lock'->>'user_id')::uuid AS user_id, e->'rows'->0->>'client_order_id' AS coid
          FROM jsonb_array_elements(batch) e WHERE e->'rows'->0->>'client_order_id' IS NOT NULL) k
      ON o.user_id = k.user_id AND o.client_order_id = k.coid;
  PERFORM 1 FROM balances b
    JOIN (SELECT DISTINCT (e->'lock'->>'user_id')::uuid AS user_id, e->'lock'->>'asset' AS asset
          FROM jsonb_array_elements(batch) e) k ON b.user_id = k.user_id AND b.asset = k.asset
    ORDER BY b.user_id, b.asset FOR UPDATE OF b;

  FOR p IN
    SELECT e.value AS v, (e.ordinality - 1)::int AS i, e.value->'lock'->>'user_id' AS uid,
      e.value->'lock'->>'asset' AS asset, e.value->'rows'->0->>'id' AS id, b.available, b.locked
    FROM jsonb_array_elements(batch) WITH ORDINALITY e
    LEFT JOIN balances b ON b.user_id = (e.value->'lock'->>'user_id')::uuid AND b.asset = e.value->'lock'->>'asset'
    ORDER BY e.value->'lock'->>'user_id', e.value->'lock'->>'asset', e.ordinality
  LOOP
    IF cur_key IS DISTINCT FROM p.uid || '|' || p.asset THEN
      IF changed THEN finals := array_append(finals, jsonb_build_array(cur_key, avail, held)); END IF;
      cur_key := p.uid || '|' || p.asset;
      avail := coalesce(p.available, 0);
      held := coalesce(p.locked, 0);
      changed := false;
    END IF;
    IF cur_user IS DISTINCT FROM p.uid THEN
      cur_user := p.uid;
      seen_ids := '{}';
      seen_coids := '{}';
      seen_coid_ids := '{}';
    END IF;
    coid := p.v->'rows'->0->>'client_order_id';
    amount := (p.v->'lock'->>'amount')::numeric;
    IF p.id::uuid = ANY(known_ids) OR p.id = ANY(seen_ids) THEN
      decided := array_append(decided, jsonb_build_object('i', p.i, 'outcome', 'duplicate_order'));
    ELSIF coid IS NOT NULL AND (known_coids ? (p.uid || '|' || coid) OR coid = ANY(seen_coids)) THEN
      decided := array_append(decided, jsonb_build_object('i', p.i, 'outcome', 'duplicate_client_order_id',
        'order_id', coalesce(known_coids->>(p.uid || '|' || coid), seen_coid_ids[array_position(seen_coids, coid)])));
    ELSIF amount IS NULL OR amount <= 0 THEN
      decided := array_append(decided, jsonb_build_object('i', p.i, 'outcome', 'invalid_lock'));
    ELSIF avail < amount THEN
      decided := array_append(decided, jsonb_build_object('i', p.i, 'outcome', 'insufficient_funds'));
    ELSE
      avail := avail - amount;
      held := held + amount;
      changed := true;
      seen_ids := array_append(seen_ids, p.id);
      IF coid IS NOT NULL THEN
        seen_coids := array_append(seen_coids, coid);
        seen_coid_ids := array_append(seen_coid_ids, p.id);
      END IF;
      -- Ids drawn here, in arrival order per balance row: a later lock of the same row gets a
      -- higher posting id (its version), and the bulk inserts below need no joins.
      entry_id := nextval(pg_get_serial_sequence('ledger_entries', 'id'));
      available_posting := nextval(pg_get_serial_sequence('ledger_postings', 'id'));
      locked_posting := nextval(pg_get_serial_sequence('ledger_postings', 'id'));
      accepted := array_append(accepted, jsonb_build_object('i', p.i, 'v', p.v, 'available', avail::text,
        'locked', held::text, 'entry', entry_id, 'posting_a', available_posting, 'posting_l', locked_posting));
    END IF;
  END LOOP;
  IF changed THEN finals := array_append(finals, jsonb_build_array(cur_key, avail, held)); END IF;

  IF cardinality(accepted) > 0 THEN
    INSERT INTO orders (id, user_id, market, client_order_id, side, type, time_in_force, post_only,
      self_trade_prevention, price, stop_price, quantity, quote_quantity, visible_quantity,
      trailing_offset, trailing_offset_unit, oco_group_id, status, lock_asset, locked_amount,
      created_at, updated_at)
    SELECT r.id, r.user_id, r.market, r.client_order_id, r.side, r.type, r.time_in_force,
      coalesce(r.post_only, false), coalesce(r.self_trade_prevention, 'expire_taker'), r.price,
      r.stop_price, r.quantity, r.quote_quantity, r.visible_quantity, r.trailing_offset,
      r.trailing_offset_unit, r.oco_group_id, 'new', r.lock_asset, r.locked_amount, created, created
    FROM unnest(accepted) a, jsonb_populate_recordset(NULL::orders, a->'v'->'rows') r;

    INSERT INTO ledger_entries (id, type, reference)
    SELECT (a->>'entry')::bigint, 'order.lock', a->'v'->'rows'->0->>'id' FROM unnest(accepted) a;
    INSERT INTO ledger_postings (id, entry_id, account, user_id, asset, amount)
    SELECT (a->>'posting_a')::bigint, (a->>'entry')::bigint, 'user_available'::ledger_account, (a->'v'->'lock'->>'user_id')::uuid,
      a->'v'->'lock'->>'asset', -(a->'v'->'lock'->>'amount')::numeric FROM unnest(accepted) a
    UNION ALL
    SELECT (a->>'posting_l')::bigint, (a->>'entry')::bigint, 'user_locked'::ledger_account, (a->'v'->'lock'->>'user_id')::uuid,
      a->'v'->'lock'->>'asset', (a->'v'->'lock'->>'amount')::numeric FROM unnest(accepted) a;

    UPDATE balances b SET available = (f->>1)::numeric, locked = (f->>2)::numeric, updated_at = now()
    FROM unnest(finals) f
    WHERE b.user_id::text || '|' || b.asset = f->>0
      AND b.user_id = split_part(f->>0, '|', 1)::uuid AND b.asset = split_part(f->>0, '|', 2);

    INSERT INTO audit_logs (actor_id, actor_type, action, resource_type, resource_id, ip_address,
      user_agent, request_id, details)
    SELECT (a->'v'->'audit'->>'actor_id')::uuid, a->'v'->'audit'->>'actor_type', 'order.place', 'order',
      a->'v'->'rows'->0->>'id', a->'v'->'audit'->>'ip_address', a->'v'->'audit'->>'user_agent',
      a->'v'->'audit'->>'request_id', coalesce(a->'v'->'audit'->'details', '{}'::jsonb)
    FROM unnest(accepted) a;
  END IF;

  RETURN (
    SELECT coalesce(jsonb_agg(d), '[]'::jsonb) FROM unnest(decided) d
  ) || (
    SELECT coalesce(jsonb_agg(jsonb_build_object('i', (a->>'i')::int, 'outcome', 'locked',
      'available', a->>'available', 'locked', a->>'locked',
      'version', a->>'posting_l', 'created_at', created)), '[]'::jsonb)
    FROM unnest(accepted) a
  );
END;
$$;
