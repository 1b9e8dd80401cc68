-- settle_page (0024) plans its statements once per connection, as place_orders does (0026), and
-- never JIT-compiles them.
-- - plan_cache_mode: plpgsql's plan cache (auto) re-plans a statement for each call while its
--   custom plans cost less than the generic one: with pages of 4-8 entries, the settler's usual
--   size, three statements (the balance upsert, the order update and the read of the page's
--   orders) were planned on every call, ~0.35-0.45 ms of Postgres CPU of a 2-3 ms call (one
--   connection alternating both modes, 60 calls each: 4 entries 1.96 -> 1.60 ms, 8 entries 2.93
--   -> 2.47 ms; 400 entries, where auto had settled on the generic plans already, 14.3 -> 14.2
--   ms). The generic plans are those auto picks for larger pages: every table read by key.
-- - jit: enable_nestloop = off and enable_seqscan = off add 1e10 to the cost of a plan that
--   keeps a nested loop (several here must), far above jit_above_cost (default 100,000) and the
--   inlining and optimization thresholds, so a server with JIT compiles those statements on every
--   execution. The local stack's Postgres has no JIT; Postgres 15 with LLVM, these migrations and
--   default settings: 981 ms of CPU a 4-entry call (three statements, 45-930 ms of compiling
--   each), 1,248 ms at 40 entries; 1.8 and 3.4 ms with jit = off. Nothing here reads enough rows
--   for compiled expressions to pay.
ALTER FUNCTION settle_page(text, text, text, text, integer, boolean, bigint[], text[], bigint[], text[],
  uuid[], text[], text[], text[], text[], text[], numeric[], numeric[], text[], uuid[], uuid[], integer[],
  integer[])
  SET plan_cache_mode = force_generic_plan
  SET jit = off;
