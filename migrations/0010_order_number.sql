-- Every order gets a short integer name, the Binance-compatible API's `orderId` (src/binance).
-- Existing rows are numbered in the order Postgres reads them; new rows take the sequence's next
-- value when `place_orders` (or any insert) writes them, so the number exists from the first reply.
ALTER TABLE "orders" ADD COLUMN "number" bigserial NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "orders_number_key" ON "orders" USING btree ("number");
