ALTER TABLE "users" ADD COLUMN "order_limit_per_10s" integer;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "order_limit_per_day" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "order_limit_per_10s" integer;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "order_limit_per_day" integer;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_order_limits_positive" CHECK ("users"."order_limit_per_10s" > 0 and "users"."order_limit_per_day" > 0);--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_order_limits_positive" CHECK ("api_keys"."order_limit_per_10s" > 0 and "api_keys"."order_limit_per_day" > 0);