ALTER TABLE "markets" ADD COLUMN "percent_price_bid_up_bps" integer;--> statement-breakpoint
ALTER TABLE "markets" ADD COLUMN "percent_price_bid_down_bps" integer;--> statement-breakpoint
ALTER TABLE "markets" ADD COLUMN "percent_price_ask_up_bps" integer;--> statement-breakpoint
ALTER TABLE "markets" ADD COLUMN "percent_price_ask_down_bps" integer;--> statement-breakpoint
ALTER TABLE "markets" ADD CONSTRAINT "markets_percent_price" CHECK (("markets"."percent_price_bid_up_bps" is null and "markets"."percent_price_bid_down_bps" is null and "markets"."percent_price_ask_up_bps" is null and "markets"."percent_price_ask_down_bps" is null)
        or ("markets"."percent_price_bid_up_bps" between 10000 and 1000000 and "markets"."percent_price_ask_up_bps" between 10000 and 1000000
          and "markets"."percent_price_bid_down_bps" between 1 and 10000 and "markets"."percent_price_ask_down_bps" between 1 and 10000));