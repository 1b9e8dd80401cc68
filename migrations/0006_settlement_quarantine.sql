CREATE TABLE "settlement_quarantine" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"market" text NOT NULL,
	"seq" bigint NOT NULL,
	"epoch" text,
	"entry" jsonb NOT NULL,
	"reason" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolved_by" uuid,
	CONSTRAINT "settlement_quarantine_status" CHECK ("settlement_quarantine"."status" in ('open', 'settled'))
);
--> statement-breakpoint
ALTER TABLE "settlement_cursors" ADD COLUMN "epoch" text;--> statement-breakpoint
ALTER TABLE "settlement_quarantine" ADD CONSTRAINT "settlement_quarantine_market_markets_symbol_fk" FOREIGN KEY ("market") REFERENCES "public"."markets"("symbol") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "settlement_quarantine_entry_key" ON "settlement_quarantine" USING btree ("market","epoch","seq");--> statement-breakpoint
CREATE INDEX "settlement_quarantine_open_idx" ON "settlement_quarantine" USING btree ("market","seq") WHERE "settlement_quarantine"."status" = 'open';--> statement-breakpoint
CREATE INDEX "settlement_quarantine_created_idx" ON "settlement_quarantine" USING btree ("created_at","id");