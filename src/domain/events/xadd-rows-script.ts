/** Streams are capped near this length (`XTRIM ... MAXLEN ~` after each request's XADDs). */
export const STREAM_MAX_LENGTH = 10_000;
/** The key marking the relay round that stopped last (one key: rounds run one at a time). */
export const ROUND_STOPPED_KEY = "relay:round-stopped";
/** The mark outlives any pipeline of its round. */
const STOP_MARK_MS = 60_000;

/**
 * XADDs pending outbox rows to their streams, in order, each stream capped near
 * `STREAM_MAX_LENGTH`: an envelope row ('e') as its stored text, a settled page ('p',
 * settled-page-events.ts) as its events, which the script builds from the page's compact text
 * with the same bytes as `JSON.stringify(expandSettledPage(page))`'s, event by event. Answers
 * how many rows were added whole and, when one was not, why. A page is expanded before any of its
 * XADDs, so an unreadable one adds nothing; a failed XADD stops there, the page's earlier events
 * added (the relay publishes the whole page again later: consumers dedupe on the envelope's id).
 *
 * `KEYS[k]` is run k's stream, `ARGV[k]` its rows' kinds ('e' or 'p', one letter a row), their
 * texts follow (`ARGV[#streams + 1]` on). The last key and argument are the round's stop mark
 * (`ROUND_STOPPED_KEY`) and the round's token: a relay round's requests go out as one pipeline,
 * so a request that stops (an unreadable page, a failed XADD) marks its round stopped and the
 * round's later requests, already sent, add nothing: the streams keep the rows' order. The Worker sends each page's text as it read it: building
 * ~2,200 envelopes of ~300 bytes a page in the Worker, and JSON-encoding them again into the REST
 * body for the REST endpoint to decode, cost it ~30 µs of machine CPU an event (docs/decisions).
 *
 * `cjson` is in every Redis's Lua, Upstash's too: Upstash's own analytics library runs scripts
 * that call `cjson.decode` on its servers (node_modules/@upstash/core-analytics/dist/index.mjs).
 * Strings are escaped here rather than by `cjson.encode`, which escapes '/' as '\/' where
 * `JSON.stringify` does not: the texts stay byte-equal to the TypeScript reference's.
 *
 * Its cost is Redis's (~3.5 µs an event, a page's request holding Redis ~8 ms), so the common
 * case is short: a page's text without a backslash has no string to escape (Postgres's json input
 * refuses raw control characters), and an event whose values are all strings is one
 * concatenation, the quotes in its template; others quote each value (escaped, null as null),
 * once a request. Event ids: the page's id with the event's index added to its last 48 bits, as
 * two 24-bit halves (exact in Lua's doubles), written from a table of hex bytes, the head
 * rebuilt every 256 events (`string.format` was a fifth of the script's time). Each stream is
 * trimmed once a request, not by each XADD's MAXLEN (~0.5 µs an event). Values other than
 * strings and null (never written by settle_page) make the page unreadable.
 */
export const XADD_ROWS = String.raw`local ESC = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}
for b = 0, 31 do
  local c = string.char(b)
  if not ESC[c] then ESC[c] = string.format('\\u%04x', b) end
end
-- %c (portable, unlike 5.1's %z) also matches DEL, which JSON.stringify leaves as it is.
ESC[string.char(127)] = string.char(127)
local HEX = {}
for b = 0, 255 do HEX[b] = string.format('%02x', b) end
local null, find, gsub, sub = cjson.null, string.find, string.gsub, string.sub
local quoted = {}
local plain = true
local function q(s)
  local r = quoted[s]
  if r then return r end
  if s == null then return 'null' end
  if type(s) ~= 'string' then error('a value neither a string nor null') end
  if plain then r = '"' .. s .. '"' else r = '"' .. (gsub(s, '[%c"\\]', ESC)) .. '"' end
  quoted[s] = r
  return r
end
local META = '},"metadata":{"ip_address":null,"user_agent":null,"request_id":null}}'
local function expand(text)
  plain = not find(text, '\\', 1, true)
  local page = cjson.decode(text)
  local id = page.id
  if type(id) ~= 'string' or #id ~= 36 or not find(id, '^%x+$', 25) then error('a page id not a UUID') end
  local head = '{"id":"' .. sub(id, 1, 24)
  local hi, lo = tonumber(sub(id, 25, 30), 16), tonumber(sub(id, 31, 36), 16)
  local market = q(page.market)
  local mid = ',"timestamp":' .. q(page.timestamp) .. ',"user_id":'
  local ACCEPTED = '","type":"order.accepted"' .. mid .. '"'
  local TRADE = '","type":"trade.executed"' .. mid .. '"'
  local out, n = {}, 0
  local lastKey, idHead = -1, ''
  -- Event n's id but its last two hex digits (the same for 256 events), and those two.
  local function eventId()
    local low, high = lo + n, hi
    if low >= 16777216 then low, high = low - 16777216, (hi + 1) % 16777216 end
    local b = low % 256
    local key = high * 16777216 + low - b
    if key ~= lastKey then
      local l1 = low % 65536
      lastKey = key
      idHead = head .. HEX[(high - high % 65536) / 65536] .. HEX[(high % 65536 - high % 256) / 256]
        .. HEX[high % 256] .. HEX[(low - l1) / 65536] .. HEX[(l1 - b) / 256]
    end
    n = n + 1
    return idHead, HEX[b]
  end
  local function add(kind, user, payload)
    local h, b = eventId()
    out[n] = h .. b .. '","type":' .. kind .. mid .. user .. ',"payload":{' .. payload .. META
  end
  for _, e in ipairs(page.events) do
    local kind = e[1]
    if kind == 'trade.executed' then
      local t, p, qn, side, buy, buyer, sell, seller = e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9]
      if plain and type(t) == 'string' and type(p) == 'string' and type(qn) == 'string' and type(side) == 'string'
          and type(buy) == 'string' and type(buyer) == 'string' and type(sell) == 'string' and type(seller) == 'string' then
        local trade = '","payload":{"market":' .. market .. ',"trade_id":"' .. t .. '","price":"' .. p
          .. '","quantity":"' .. qn .. '","taker_side":"' .. side .. '","order_id":"'
        local h, b = eventId()
        out[n] = h .. b .. TRADE .. buyer .. trade .. buy .. '","side":"buy"' .. META
        h, b = eventId()
        out[n] = h .. b .. TRADE .. seller .. trade .. sell .. '","side":"sell"' .. META
      else
        local trade = '"market":' .. market .. ',"trade_id":' .. q(t) .. ',"price":' .. q(p)
          .. ',"quantity":' .. q(qn) .. ',"taker_side":' .. q(side) .. ',"order_id":'
        add('"trade.executed"', q(buyer), trade .. q(buy) .. ',"side":"buy"')
        add('"trade.executed"', q(seller), trade .. q(sell) .. ',"side":"sell"')
      end
    elseif kind == 'order.accepted' then
      local user, order = e[2], e[3]
      if plain and type(user) == 'string' and type(order) == 'string' then
        local h, b = eventId()
        out[n] = h .. b .. ACCEPTED .. user .. '","payload":{"order_id":"' .. order .. '","market":' .. market .. META
      else
        add('"order.accepted"', q(user), '"order_id":' .. q(order) .. ',"market":' .. market)
      end
    else
      local user, order, status, reason = e[2], e[3], e[4], e[5]
      local tail = ''
      if reason ~= nil and reason ~= null and reason ~= '' then tail = ',"reason":' .. q(reason) end
      if plain and type(kind) == 'string' and type(user) == 'string' and type(order) == 'string'
          and type(status) == 'string' then
        local h, b = eventId()
        out[n] = h .. b .. '","type":"' .. kind .. '"' .. mid .. '"' .. user .. '","payload":{"order_id":"' .. order
          .. '","market":' .. market .. ',"status":"' .. status .. '"' .. tail .. META
      else
        add(q(kind), q(user), '"order_id":' .. q(order) .. ',"market":' .. market .. ',"status":' .. q(status) .. tail)
      end
    end
  end
  return out
end
local STREAMS, STOPPED, ROUND = #KEYS - 1, KEYS[#KEYS], ARGV[#ARGV]
if redis.call('GET', STOPPED) == ROUND then return {0, 'an earlier request of the round stopped'} end
-- The XADDs, then each stream trimmed once (not an XADD's MAXLEN each: ~0.4 µs an event).
local function run()
  local a = STREAMS
  for k = 1, STREAMS do
    local kinds = ARGV[k]
    for i = 1, #kinds do
      a = a + 1
      local texts = {ARGV[a]}
      if sub(kinds, i, i) == 'p' then
        local ok, r = pcall(expand, ARGV[a])
        if not ok then return {a - 1 - STREAMS, 'unreadable settled page: ' .. tostring(r)} end
        texts = r
      end
      for _, text in ipairs(texts) do
        local r = redis.pcall('XADD', KEYS[k], '*', 'event', text)
        if type(r) == 'table' and r.err then return {a - 1 - STREAMS, r.err} end
      end
    end
  end
  return {a - STREAMS}
end
local answer = run()
if answer[2] then redis.call('SET', STOPPED, ROUND, 'PX', ${STOP_MARK_MS}) end
for k = 1, STREAMS do redis.pcall('XTRIM', KEYS[k], 'MAXLEN', '~', ${STREAM_MAX_LENGTH}) end
return answer`;

/** A pending row as the script takes it: a page row (`page_events` set) is expanded by it. */
export interface ScriptRow {
  stream: string;
  envelope: string;
  page_events: number | null;
}

/**
 * `XADD_ROWS`'s keys and arguments for the rows of a request of round `round` (a token unique to
 * the round): runs of one stream, each run's kinds, the texts; the stop mark's key and the token.
 */
export function xaddRowsArguments(
  rows: readonly ScriptRow[],
  round: string,
): { keys: string[]; args: string[] } {
  const keys: string[] = [];
  const kinds: string[] = [];
  for (const row of rows) {
    const kind = row.page_events === null ? "e" : "p";
    if (keys.length > 0 && keys[keys.length - 1] === row.stream) kinds[kinds.length - 1] += kind;
    else {
      keys.push(row.stream);
      kinds.push(kind);
    }
  }
  return {
    keys: [...keys, ROUND_STOPPED_KEY],
    args: [...kinds, ...rows.map((row) => row.envelope), round],
  };
}

/**
 * The rows cut, in order, into requests of whole rows (at least one each) of at most `maxEvents`
 * events and `maxChars` characters of text: each request's row count.
 */
export function requestSizes(
  rows: readonly Pick<ScriptRow, "envelope" | "page_events">[],
  maxEvents: number,
  maxChars: number,
): number[] {
  const sizes: number[] = [];
  let [count, events, chars] = [0, 0, 0];
  for (const row of rows) {
    const [e, c] = [row.page_events ?? 1, row.envelope.length];
    if (count > 0 && (events + e > maxEvents || chars + c > maxChars)) {
      sizes.push(count);
      [count, events, chars] = [0, 0, 0];
    }
    [count, events, chars] = [count + 1, events + e, chars + c];
  }
  if (count > 0) sizes.push(count);
  return sizes;
}
