-- Notes-free crash recovery of the market object's funds locks
-- (docs/decisions/0014-lock-fence-instead-of-in-flight-notes.md).
-- No index: the start-up query ranges over `orders_number_key` from the object's last mark
-- (a number every order it locked since lies above), so it reads the orders written since then,
-- and a placement pays nothing more than one `nextval` per flush.
--
-- The fence: one row per market whose epoch a market object raises when it starts (and after a
-- funds lock it could not account for). Every funds lock passes the fence first, in the same
-- statement and so the same transaction as `place_orders`, holding the row FOR SHARE until it
-- commits; the raise's UPDATE waits for every lock that passed and refuses every later lock of
-- an older epoch. After the raise no lock of an earlier incarnation can commit, so what the raise
-- then reads of the market's orders is all an earlier incarnation can have left.
CREATE TABLE "market_lock_fences" (
	"market" text PRIMARY KEY NOT NULL,
	"epoch" bigint NOT NULL
);--> statement-breakpoint
-- Called in the FROM clause of the funds lock's statement (durable-objects/market/funds-locker.ts):
-- raises unless `e` is the market's epoch; returns a number below every order the lock inserts.
CREATE FUNCTION pass_lock_fence(m text, e bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
BEGIN
  -- READ COMMITTED: a raise committed meanwhile is seen (the locked row is re-read), one still
  -- running is waited for.
  PERFORM 1 FROM market_lock_fences f WHERE f.market = m AND f.epoch = e FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'pass_lock_fence: the funds locks of % are fenced off epoch %', m, e
      USING ERRCODE = 'lock_not_available';
  END IF;
  RETURN nextval('orders_number_seq');
END
$$;--> statement-breakpoint
-- The object's start-up: a new epoch for the market, then its orders locked (`new`) above `after`
-- (null: nothing to look for, the object's storage is new or noted its locks itself) with their
-- users, and a new mark: every order of the market not listed lies below it or is locked later
-- under the new epoch. An OCO's stop leg is named by its limit leg (the pair is one placement).
CREATE FUNCTION raise_lock_fence(m text, after bigint) RETURNS jsonb
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
  new_epoch bigint;
  found jsonb;
BEGIN
  INSERT INTO market_lock_fences AS f (market, epoch) VALUES (m, 1)
    ON CONFLICT (market) DO UPDATE SET epoch = f.epoch + 1
    RETURNING f.epoch INTO new_epoch;
  -- A statement of its own, so a snapshot taken after the locks the UPDATE waited for committed.
  IF after IS NOT NULL THEN
    SELECT coalesce(jsonb_agg(jsonb_build_object('order_id', o.id, 'user_id', o.user_id) ORDER BY o.number), '[]')
      INTO found
      FROM orders o
      WHERE o.number > after AND o.market = m AND o.status = 'new'
        AND (o.oco_group_id IS NULL OR o.oco_group_id = o.id);
  END IF;
  RETURN jsonb_build_object('epoch', new_epoch, 'mark', nextval('orders_number_seq'),
    'orders', coalesce(found, '[]'));
END
$$;
