// The database schema, one file per domain; drizzle-kit reads this barrel to generate migrations.
export * from "./users";
export * from "./markets";
export * from "./audit";
export * from "./event-outbox";
export * from "./sessions";
export * from "./email-verification";
export * from "./api-keys";
export * from "./wallets";
export * from "./trading";
export * from "./settlement";
export * from "./two-factor";
export * from "./password-reset";
export * from "./withdrawal-addresses";
export * from "./lock-fences";
