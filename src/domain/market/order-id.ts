import { v7 } from "uuid";

/**
 * A new order id: a UUIDv7, ordered by creation time. Order ids are the key of an index in
 * the market object's SQLite and of the orders table in Postgres; random (v4) keys land on a
 * random page of that index each, so a flush of 50 orders dirtied about 50 pages, where
 * time-ordered keys append to the last few (measured with SQLite: a flush of 50 into 100,000
 * rows took 5-6 ms with v4 keys, about 1 ms with these).
 */
export const newOrderId = (): string => v7();
