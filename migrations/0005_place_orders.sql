-- The market object's group commit (durable-objects/market/funds-locker.ts): every placement
-- that reached the object since its last flush is recorded and funded in ONE round trip, with
-- an outcome per placement, so one refused order never fails the others.
--
-- `batch` is a JSON array of {rows: [orders rows], lock: {user_id, asset, amount}, audit: {...}}
-- (an OCO has two rows and one lock). Per placement, in (user, asset, arrival) order so that
-- concurrent flushes and settlement lock balance rows alike and never deadlock:
--   1. insert its rows (a known id or a used client_order_id inserts nothing: a duplicate);
--   2. move the lock from available to locked, only if available covers it (else the rows are
--      deleted again: insufficient_funds);
--   3. the lock's journal entry (`order.lock`, reference = the first row's id) and its two
--      postings, exactly as `lockEntry` in src/services/ledger.ts writes them, and the audit row.
-- Returns [{i, outcome, ...}] with i the placement's index in `batch`; `version` is the id of
-- the locked posting (the balance row's version, see BalanceAfter).
CREATE OR REPLACE FUNCTION place_orders(batch jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  first_id uuid;
  lock_user uuid;
  lock_asset text;
  lock_amount numeric;
  n_rows int;
  inserted int;
  bal record;
  entry_id bigint;
  posting_id bigint;
  existing uuid;
  created timestamptz := now();
  results jsonb := '[]'::jsonb;
BEGIN
  FOR p IN
    SELECT e.value AS v, (e.ordinality - 1)::int AS i
    FROM jsonb_array_elements(batch) WITH ORDINALITY e
    ORDER BY e.value->'lock'->>'user_id', e.value->'lock'->>'asset', e.ordinality
  LOOP
    first_id := (p.v->'rows'->0->>'id')::uuid;
    lock_user := (p.v->'lock'->>'user_id')::uuid;
    lock_asset := p.v->'lock'->>'asset';
    lock_amount := (p.v->'lock'->>'amount')::numeric;
    n_rows := jsonb_array_length(p.v->'rows');
    IF lock_amount IS NULL OR lock_amount <= 0 THEN
      results := results || jsonb_build_object('i', p.i, 'outcome', 'invalid_lock');
      CONTINUE;
    END IF;

    INSERT INTO orders (id, user_id, market, client_order_id, side, type, time_in_force, post_only,
      self_trade_prevention, price, stop_price, quantity, quote_quantity, visible_quantity,
      trailing_offset, trailing_offset_unit, oco_group_id, status, lock_asset, locked_amount,
      created_at, updated_at)
    SELECT r.id, r.user_id, r.market, r.client_order_id, r.side, r.type, r.time_in_force,
      coalesce(r.post_only, false), coalesce(r.self_trade_prevention, 'expire_taker'), r.price,
      r.stop_price, r.quantity, r.quote_quantity, r.visible_quantity, r.trailing_offset,
      r.trailing_offset_unit, r.oco_group_id, 'new', r.lock_asset, r.locked_amount, created, created
    FROM jsonb_populate_recordset(NULL::orders, p.v->'rows') r
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted < n_rows THEN
      -- A leg of a pair inserted alone (only a colliding id can do that) is taken back.
      DELETE FROM orders o USING jsonb_populate_recordset(NULL::orders, p.v->'rows') r
        WHERE o.id = r.id AND o.created_at = created AND inserted > 0;
      IF EXISTS (SELECT 1 FROM orders WHERE id = first_id) THEN
        results := results || jsonb_build_object('i', p.i, 'outcome', 'duplicate_order');
      ELSE
        SELECT id INTO existing FROM orders
          WHERE user_id = lock_user AND client_order_id = p.v->'rows'->0->>'client_order_id';
        results := results || jsonb_build_object('i', p.i, 'outcome', 'duplicate_client_order_id',
          'order_id', existing);
      END IF;
      CONTINUE;
    END IF;

    UPDATE balances SET available = available - lock_amount, locked = locked + lock_amount,
      updated_at = now()
      WHERE user_id = lock_user AND asset = lock_asset AND available >= lock_amount
      RETURNING available, locked INTO bal;
    IF NOT FOUND THEN
      DELETE FROM orders o USING jsonb_populate_recordset(NULL::orders, p.v->'rows') r WHERE o.id = r.id;
      results := results || jsonb_build_object('i', p.i, 'outcome', 'insufficient_funds');
      CONTINUE;
    END IF;

    INSERT INTO ledger_entries (type, reference) VALUES ('order.lock', first_id::text)
      RETURNING id INTO entry_id;
    INSERT INTO ledger_postings (entry_id, account, user_id, asset, amount)
      VALUES (entry_id, 'user_available', lock_user, lock_asset, -lock_amount);
    INSERT INTO ledger_postings (entry_id, account, user_id, asset, amount)
      VALUES (entry_id, 'user_locked', lock_user, lock_asset, lock_amount)
      RETURNING id INTO posting_id;
    INSERT INTO audit_logs (actor_id, actor_type, action, resource_type, resource_id, ip_address,
      user_agent, request_id, details)
    SELECT (a->>'actor_id')::uuid, a->>'actor_type', 'order.place', 'order', first_id::text,
      a->>'ip_address', a->>'user_agent', a->>'request_id', coalesce(a->'details', '{}'::jsonb)
    FROM (SELECT p.v->'audit' AS a) x;

    results := results || jsonb_build_object('i', p.i, 'outcome', 'locked',
      'available', bal.available::text, 'locked', bal.locked::text, 'version', posting_id::text,
      'created_at', created);
  END LOOP;
  RETURN results;
END;
$$;
