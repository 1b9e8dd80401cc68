// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import {
  beginStatement,
  errorBody,
  parseBody,
  parseConnectionString,
  resultBody,
} from "../../scripts/stack/neon-http-endpoint";

test("credentials come from the connection string; its host, port and options are not used", () => {
  assert.deepEqual(
    parseConnectionString(
      "postgresql://pan%40dora:p%2Fss@ep-x.neon.tech:5432/db?application_name=x&sslmode=require",
    ),
    { user: "pan@dora", password: "p/ss", database: "db" },
  );
  assert.throws(() => parseConnectionString(undefined), /missing Neon-Connection-String/);
  assert.throws(() => parseConnectionString("mysql://u:p@h/db"), /postgres/);
  assert.throws(() => parseConnectionString("postgres://u:p@h/"), /user or a database/);
  assert.throws(() => parseConnectionString("not a url"), /not a valid URL/);
});

test("a body is one query or a batch; params default to none", () => {
  assert.deepEqual(parseBody('{"query":"select $1","params":["1"]}'), { query: "select $1", params: ["1"] });
  assert.deepEqual(parseBody('{"query":"select 1"}'), { query: "select 1", params: [] });
  assert.deepEqual(parseBody('{"queries":[{"query":"a","params":[null]},{"query":"b"}]}'), {
    queries: [
      { query: "a", params: [null] },
      { query: "b", params: [] },
    ],
  });
  assert.throws(() => parseBody("{"), /not JSON/);
  assert.throws(() => parseBody("{}"), /string `query`/);
  assert.throws(() => parseBody('{"query":"a","params":"x"}'), /must be an array/);
  assert.throws(() => parseBody('{"queries":{}}'), /must be an array/);
});

test("batch headers become BEGIN options, with Neon's names for the isolation levels", () => {
  assert.equal(beginStatement({}), "begin");
  assert.equal(
    beginStatement({ isolationLevel: "RepeatableRead", readOnly: "true", deferrable: "false" }),
    "begin isolation level repeatable read read only not deferrable",
  );
  assert.equal(
    beginStatement({ isolationLevel: "ReadCommitted", readOnly: "false" }),
    "begin isolation level read committed read write",
  );
  assert.throws(() => beginStatement({ isolationLevel: "snapshot" }), /unknown Neon-Batch-Isolation-Level/);
});

test("a result keeps raw text, as arrays or as objects by field name", () => {
  const fields = [
    {
      name: "id",
      tableID: 1,
      columnID: 1,
      dataTypeID: 23,
      dataTypeSize: 4,
      dataTypeModifier: -1,
      format: "text",
    },
    {
      name: "note",
      tableID: 1,
      columnID: 2,
      dataTypeID: 25,
      dataTypeSize: -1,
      dataTypeModifier: -1,
      format: "text",
    },
  ] as pg.FieldDef[];
  const result = { command: "SELECT", rowCount: 1, oid: 0, fields, rows: [["7", null]] };
  assert.deepEqual(resultBody(result, true), {
    command: "SELECT",
    rowCount: 1,
    fields,
    rows: [["7", null]],
    rowAsArray: true,
  });
  assert.deepEqual(resultBody(result, false).rows, [{ id: "7", note: null }]);
});

test("a Postgres error keeps the fields services read (code, constraint, detail…)", () => {
  const err = new pg.DatabaseError(
    'duplicate key value violates unique constraint "users_email_key"',
    0,
    "error",
  );
  Object.assign(err, {
    severity: "ERROR",
    code: "23505",
    constraint: "users_email_key",
    detail: "Key (email)=(a) already exists.",
    table: "users",
  });
  assert.deepEqual(errorBody(err), {
    message: 'duplicate key value violates unique constraint "users_email_key"',
    severity: "ERROR",
    code: "23505",
    detail: "Key (email)=(a) already exists.",
    table: "users",
    constraint: "users_email_key",
  });
});
