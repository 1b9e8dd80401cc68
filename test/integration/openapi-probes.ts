// The malformed-input sweep's probes: for each operation of /openapi.json, a well-formed request
// and its malformed variants, derived from the operation's own schema; and the error shapes an
// answer may carry. Pure: no Worker, no stack.
export type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  example?: unknown;
  default?: unknown;
  minimum?: number;
  minLength?: number;
  minItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  schema?: Schema;
}
export interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
export interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const CONTROL_STRINGS = ["\u0000", "a\u0001b\u0008c\u001b[31md\u007fe\u0085f\u009b", "x\u0000y"];
const BAD_IDS = ["not-an-id", "%00", "a%01b%1Bc", "%FF%FE", "..%2F..%2Fetc%2Fpasswd", "9".repeat(300)];
const BAD_QUERY_VALUES = ["abc", "-1", "1e999", "%00", "%01%1B%7F", "x".repeat(2_000)];
const BROKEN_BODIES = ['{"a":', "", "null", "[]", '"text"', "[{}]", '{"__proto__":{"x":1}}', "{".repeat(500)];
// Names that match the schemas' patterns but no real market or asset: a well-formed admin call
// must never change what other test files trade on (a halted BTC-USDT, a disabled BTC).
const STRING_CANDIDATES = [
  "1",
  "0.001",
  "ZZSWEEP-ZZZ",
  "ZZZ",
  "1m",
  "abc",
  "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
];

/** A schema's example that names a real market or asset (`BTC-USDT`, `BTC`), as a sweep name. */
function unshared(example: unknown): unknown {
  if (typeof example !== "string") return example;
  if (/^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/.test(example)) return "ZZSWEEP-ZZZ";
  if (/^[A-Z0-9]{2,10}$/.test(example)) return "ZZZ";
  return example;
}

function resolver(doc: Doc) {
  const resolve = (s: Schema | undefined): Schema => {
    let schema = s ?? {};
    for (let i = 0; schema.$ref && i < 10; i++) {
      schema = doc.components?.schemas?.[schema.$ref.replace("#/components/schemas/", "")] ?? {};
    }
    return schema;
  };
  /** A well-formed value for the schema, as far as its declared shape tells. */
  const sample = (s: Schema | undefined, depth = 0): unknown => {
    const schema = resolve(s);
    if (schema.example !== undefined) return unshared(schema.example);
    if (schema.const !== undefined) return schema.const;
    if (schema.enum?.length) return schema.enum[0];
    const choice = schema.anyOf ?? schema.oneOf ?? schema.allOf;
    if (choice?.length) return sample(choice.find((c) => resolve(c).type !== "null") ?? choice[0], depth);
    const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
    switch (type) {
      case "string": {
        if (schema.format === "uuid") return crypto.randomUUID();
        if (schema.format === "email") return `sweep-${crypto.randomUUID().slice(0, 8)}@example.test`;
        if (schema.format === "date-time") return new Date().toISOString();
        if (schema.pattern) {
          const re = new RegExp(schema.pattern, "u");
          const hit = STRING_CANDIDATES.find((c) => re.test(c));
          if (hit) return hit;
        }
        return "a".repeat(Math.max(schema.minLength ?? 1, 8));
      }
      case "integer":
      case "number":
        return schema.minimum ?? 1;
      case "boolean":
        return true;
      case "array":
        return depth > 3
          ? []
          : Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => sample(schema.items, depth + 1));
      case "object":
      default:
        if (!schema.properties || depth > 3) return {};
        return Object.fromEntries(
          Object.entries(schema.properties).map(([k, v]) => [k, sample(v, depth + 1)]),
        );
    }
  };
  return { sample };
}

/** Every leaf (and inner node) of a JSON value, by path. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [at];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [at, ...entries.flatMap(([k, v]) => paths(v, [...at, k]))];
}

function replaced(value: unknown, at: (string | number)[], by: unknown): unknown {
  if (at.length === 0) return by;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    unknown
  >;
  copy[at[0]!] = replaced(copy[at[0]!], at.slice(1), by);
  return copy;
}

/** Wrong-typed and control-character values for one place of a well-formed body. */
function mutationsAt(current: unknown): unknown[] {
  if (typeof current === "string") return [...CONTROL_STRINGS, 12345, null];
  if (typeof current === "number") return ["not-a-number", -1, 1e308, true];
  if (typeof current === "boolean") return ["true", 0];
  if (Array.isArray(current)) return [{}, "x", [null]];
  return [[], "x", { "\u0000key": "v" }];
}

export interface Probe {
  label: string;
  method: string;
  url: string;
  body?: string;
}

export function probesOf(
  doc: Doc,
  path: string,
  method: string,
  op: Operation,
): { base: Probe; variants: Probe[] } {
  const { sample } = resolver(doc);
  const params = op.parameters ?? [];
  const pathValues = new Map(
    params.filter((p) => p.in === "path").map((p) => [p.name, String(sample(p.schema))]),
  );
  const urlWith = (overrides: Map<string, string>, query: Record<string, string>) => {
    let p = path;
    for (const [name, value] of pathValues) {
      p = p.replace(`{${name}}`, overrides.get(name) ?? encodeURIComponent(value));
    }
    const q = Object.entries(query)
      .map(([k, v]) => `${encodeURIComponent(k)}=${v}`)
      .join("&");
    return `http://x${p}${q ? `?${q}` : ""}`;
  };
  const requiredQuery = Object.fromEntries(
    params
      .filter((p) => p.in === "query" && p.required)
      .map((p) => [p.name, encodeURIComponent(String(sample(p.schema)))]),
  );
  const schema = op.requestBody?.content?.["application/json"]?.schema;
  const goodBody = schema ? JSON.stringify(sample(schema)) : undefined;
  const m = method.toUpperCase();
  const base: Probe = {
    label: "well-formed",
    method: m,
    url: urlWith(new Map(), requiredQuery),
    body: goodBody,
  };
  const variants: Probe[] = [];
  for (const name of pathValues.keys()) {
    for (const bad of BAD_IDS) {
      variants.push({
        ...base,
        label: `path ${name}=${bad.slice(0, 20)}`,
        url: urlWith(new Map([[name, bad]]), requiredQuery),
      });
    }
  }
  for (const p of params.filter((p) => p.in === "query")) {
    for (const bad of BAD_QUERY_VALUES) {
      variants.push({
        ...base,
        label: `query ${p.name}=${bad.slice(0, 20)}`,
        url: urlWith(new Map(), { ...requiredQuery, [p.name]: bad }),
      });
    }
  }
  if (goodBody !== undefined) {
    for (const broken of BROKEN_BODIES)
      variants.push({ ...base, label: `body ${broken.slice(0, 20)}`, body: broken });
    const parsed = JSON.parse(goodBody) as unknown;
    for (const at of paths(parsed)) {
      const current = at.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], parsed);
      for (const by of mutationsAt(current)) {
        variants.push({
          ...base,
          label: `body ${at.join(".") || "(root)"}=${JSON.stringify(by).slice(0, 30)}`,
          body: JSON.stringify(replaced(parsed, at, by)),
        });
      }
    }
  } else if (m !== "GET" && m !== "DELETE") {
    // No declared body: one sent anyway must still be answered cleanly.
    for (const broken of BROKEN_BODIES.slice(0, 3))
      variants.push({ ...base, label: `body ${broken.slice(0, 20)}`, body: broken });
  }
  return { base, variants };
}

/**
 * The one JSON error shape; the Binance-compatible API (/api/v3 and its WebSocket API's
 * /ws-api/v3) answers Binance's own `{"code": <negative number>, "msg"}` instead, as its
 * clients expect.
 */
export function hasErrorShape(path: string, body: unknown): boolean {
  if (path.startsWith("/api/v3/") || path.startsWith("/ws-api/")) {
    const b = body as { code?: unknown; msg?: unknown } | undefined;
    return typeof b?.code === "number" && typeof b.msg === "string";
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; request_id?: unknown } } | undefined)
    ?.error;
  return typeof e?.code === "string" && typeof e.message === "string" && typeof e.request_id === "string";
}
