import { describe, expect, it } from "vitest";
import { frozenMigrationProblems, parseFrozenList } from "../../../scripts/lib/frozen-migrations";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("frozen migrations", () => {
  const listed = parseFrozenList(`${A}  migrations/0000_x.sql\n${B}  migrations/0001_y.sql\n`);

  it("passes when every migration is listed with its hash", () => {
    expect(listed.size).toBe(2);
    const hashes = new Map([
      ["migrations/0000_x.sql", A],
      ["migrations/0001_y.sql", B],
    ]);
    expect(frozenMigrationProblems(hashes, listed)).toEqual([]);
  });

  it("names an edited, an unlisted and a removed migration", () => {
    const hashes = new Map([
      ["migrations/0000_x.sql", B],
      ["migrations/0002_z.sql", A],
    ]);
    const problems = frozenMigrationProblems(hashes, listed);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/0000_x\.sql was edited/);
    expect(problems[1]).toMatch(/0002_z\.sql is not listed/);
    expect(problems[2]).toMatch(/0001_y\.sql is listed but gone/);
  });
});
