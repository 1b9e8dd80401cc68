import { describe, expect, it } from "vitest";
import {
  MAX_INBOUND_BYTES,
  parseChannel,
  parseClientMessage,
} from "../../../durable-objects/market/ws/protocol";

describe("WebSocket protocol parsing", () => {
  it("accepts the documented messages", () => {
    expect(parseClientMessage('{"op":"subscribe","id":1,"channels":["depth:BTC-USDT"]}')).toEqual({
      ok: true,
      message: { op: "subscribe", id: 1, channels: ["depth:BTC-USDT"] },
    });
    expect(parseClientMessage('{"op":"ping"}')).toEqual({ ok: true, message: { op: "ping" } });
  });

  it("never throws on garbage and says what is wrong", () => {
    const cases: [string | ArrayBuffer, string][] = [
      ["nope", "MALFORMED_JSON"],
      ["null", "UNKNOWN_OP"],
      ['"subscribe"', "UNKNOWN_OP"],
      ['{"op":"auth"}', "BAD_REQUEST"],
      ['{"op":"login","token":"x"}', "UNKNOWN_OP"],
      ['{"op":"subscribe","channels":[]}', "BAD_REQUEST"],
      ['{"op":"subscribe","channels":["a"],"extra":1}', "BAD_REQUEST"],
      ['{"op":"ping","id":{"a":1}}', "BAD_REQUEST"],
      ["x".repeat(MAX_INBOUND_BYTES + 1), "MESSAGE_TOO_LARGE"],
      [new ArrayBuffer(4), "BAD_REQUEST"],
    ];
    for (const [input, code] of cases) expect(parseClientMessage(input)).toMatchObject({ ok: false, code });
  });

  it("knows the channels of its market only", () => {
    expect(parseChannel("depth:BTC-USDT", "BTC-USDT")).toEqual({ name: "depth:BTC-USDT", kind: "depth" });
    expect(parseChannel("candles:4h:BTC-USDT", "BTC-USDT")).toEqual({
      name: "candles:4h:BTC-USDT",
      kind: "candles",
      interval: "4h",
    });
    expect(parseChannel("orders", "BTC-USDT")).toEqual({ name: "orders:BTC-USDT", kind: "orders" });
    expect(parseChannel("balances", "BTC-USDT")).toEqual({ name: "balances:BTC-USDT", kind: "balances" });
    expect(parseChannel("balances:BTC-USDT", "BTC-USDT")).toEqual({
      name: "balances:BTC-USDT",
      kind: "balances",
    });
    for (const bad of [
      "depth:ETH-USDT",
      "depth",
      "candles:3m:BTC-USDT",
      "trades:BTC-USDT:x",
      "balance",
      "balances:ETH-USDT",
      "orders:BTC-USDT:x",
    ]) {
      expect(parseChannel(bad, "BTC-USDT")).toBeNull();
    }
  });
});
