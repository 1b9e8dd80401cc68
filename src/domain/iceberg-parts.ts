import { ErrorCode, unprocessable } from "../lib/errors";

/**
 * The most parts an iceberg order may show one after another: ceil(quantity / visible quantity)
 * (Binance's ICEBERG_PARTS filter, whose limit is 100 on its spot symbols). A thinner peak would
 * refill more often than a market maker needs, each refill a new place in the queue.
 */
export const MAX_ICEBERG_PARTS = 100;

/** Refuses an iceberg whose peak splits its quantity into more than MAX_ICEBERG_PARTS parts. */
export function checkIcebergParts(quantityLots: number, visibleLots: number): void {
  if (Math.ceil(quantityLots / visibleLots) > MAX_ICEBERG_PARTS) {
    throw unprocessable(
      `visible_quantity splits the order into more than ${MAX_ICEBERG_PARTS} parts`,
      ErrorCode.INVALID_ORDER,
      { field: "visible_quantity", filter: "ICEBERG_PARTS" },
    );
  }
}
