CREATE TYPE "public"."order_side" AS ENUM('buy', 'sell');--> statement-breakpoint
CREATE TYPE "public"."order_status" AS ENUM('pending', 'new', 'partially_filled', 'filled', 'cancelled', 'expired', 'rejected');--> statement-breakpoint
CREATE TYPE "public"."order_type" AS ENUM('limit', 'market', 'stop_loss', 'stop_limit', 'trailing_stop');--> statement-breakpoint
CREATE TYPE "public"."self_trade_prevention" AS ENUM('expire_taker', 'expire_maker', 'expire_both');--> statement-breakpoint
CREATE TYPE "public"."time_in_force" AS ENUM('GTC', 'IOC', 'FOK');--> statement-breakpoint
CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"market" text NOT NULL,
	"client_order_id" text,
	"side" "order_side" NOT NULL,
	"type" "order_type" NOT NULL,
	"time_in_force" time_in_force NOT NULL,
	"post_only" boolean DEFAULT false NOT NULL,
	"self_trade_prevention" "self_trade_prevention" DEFAULT 'expire_taker' NOT NULL,
	"price" numeric(78, 0),
	"stop_price" numeric(78, 0),
	"quantity" numeric(78, 0),
	"quote_quantity" numeric(78, 0),
	"visible_quantity" numeric(78, 0),
	"trailing_offset" integer,
	"trailing_offset_unit" text,
	"oco_group_id" uuid,
	"status" "order_status" DEFAULT 'pending' NOT NULL,
	"reject_reason" text,
	"filled_quantity" numeric(78, 0) DEFAULT 0 NOT NULL,
	"filled_quote" numeric(78, 0) DEFAULT 0 NOT NULL,
	"lock_asset" text NOT NULL,
	"locked_amount" numeric(78, 0) NOT NULL,
	"consumed_amount" numeric(78, 0) DEFAULT 0 NOT NULL,
	"released_amount" numeric(78, 0) DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "orders_lock_accounting" CHECK ("orders"."consumed_amount" >= 0 and "orders"."released_amount" >= 0 and "orders"."consumed_amount" + "orders"."released_amount" <= "orders"."locked_amount"),
	CONSTRAINT "orders_client_order_id_len" CHECK (length("orders"."client_order_id") between 1 and 64)
);
--> statement-breakpoint
CREATE TABLE "settlement_cursors" (
	"market" text PRIMARY KEY NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trades" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"market" text NOT NULL,
	"trade_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"price" numeric(78, 0) NOT NULL,
	"quantity" numeric(78, 0) NOT NULL,
	"quote_amount" numeric(78, 0) NOT NULL,
	"taker_side" "order_side" NOT NULL,
	"buy_order_id" uuid NOT NULL,
	"sell_order_id" uuid NOT NULL,
	"buyer_id" uuid NOT NULL,
	"seller_id" uuid NOT NULL,
	"buyer_fee" numeric(78, 0) NOT NULL,
	"seller_fee" numeric(78, 0) NOT NULL,
	"executed_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watchlists" (
	"user_id" uuid NOT NULL,
	"symbol" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "watchlists_user_id_symbol_pk" PRIMARY KEY("user_id","symbol")
);
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_market_markets_symbol_fk" FOREIGN KEY ("market") REFERENCES "public"."markets"("symbol") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_lock_asset_assets_code_fk" FOREIGN KEY ("lock_asset") REFERENCES "public"."assets"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "settlement_cursors" ADD CONSTRAINT "settlement_cursors_market_markets_symbol_fk" FOREIGN KEY ("market") REFERENCES "public"."markets"("symbol") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trades" ADD CONSTRAINT "trades_market_markets_symbol_fk" FOREIGN KEY ("market") REFERENCES "public"."markets"("symbol") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trades" ADD CONSTRAINT "trades_buy_order_id_orders_id_fk" FOREIGN KEY ("buy_order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trades" ADD CONSTRAINT "trades_sell_order_id_orders_id_fk" FOREIGN KEY ("sell_order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trades" ADD CONSTRAINT "trades_buyer_id_users_id_fk" FOREIGN KEY ("buyer_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trades" ADD CONSTRAINT "trades_seller_id_users_id_fk" FOREIGN KEY ("seller_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "watchlists" ADD CONSTRAINT "watchlists_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "watchlists" ADD CONSTRAINT "watchlists_symbol_markets_symbol_fk" FOREIGN KEY ("symbol") REFERENCES "public"."markets"("symbol") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "orders_user_client_order_id_key" ON "orders" USING btree ("user_id","client_order_id");--> statement-breakpoint
CREATE INDEX "orders_user_created_idx" ON "orders" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "orders_user_open_idx" ON "orders" USING btree ("user_id","market") WHERE "orders"."status" in ('pending', 'new', 'partially_filled');--> statement-breakpoint
CREATE INDEX "orders_pending_idx" ON "orders" USING btree ("created_at") WHERE "orders"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "orders_market_status_idx" ON "orders" USING btree ("market","status");--> statement-breakpoint
CREATE UNIQUE INDEX "trades_market_trade_id_key" ON "trades" USING btree ("market","trade_id");--> statement-breakpoint
CREATE INDEX "trades_buyer_idx" ON "trades" USING btree ("buyer_id","id");--> statement-breakpoint
CREATE INDEX "trades_seller_idx" ON "trades" USING btree ("seller_id","id");--> statement-breakpoint
CREATE INDEX "trades_market_executed_idx" ON "trades" USING btree ("market","executed_at");--> statement-breakpoint
CREATE INDEX "trades_buy_order_idx" ON "trades" USING btree ("buy_order_id");--> statement-breakpoint
CREATE INDEX "trades_sell_order_idx" ON "trades" USING btree ("sell_order_id");