ALTER TABLE "orders" ADD COLUMN "amend_id" uuid;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "amend_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "amend_seq" bigint;--> statement-breakpoint
CREATE INDEX "orders_oco_group_idx" ON "orders" USING btree ("oco_group_id") WHERE "orders"."oco_group_id" is not null;