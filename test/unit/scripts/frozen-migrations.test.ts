import { describe, expect, it } from "vitest";
import {
  frozenMigrationProblems,
  journalOrderProblems,
  parseFrozenList,
} from "../../../scripts/lib/frozen-migrations";

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

describe("the journal's order", () => {
  it("passes when every when is later than the one before", () => {
    expect(
      journalOrderProblems([
        { tag: "0000_x", when: 1 },
        { tag: "0001_y", when: 2 },
        { tag: "0002_z", when: 5 },
      ]),
    ).toEqual([]);
  });

  it("names an entry whose when is not later than the one before (equal or lower)", () => {
    const problems = journalOrderProblems([
      { tag: "0000_x", when: 10 },
      { tag: "0001_y", when: 10 },
      { tag: "0002_z", when: 20 },
      { tag: "0003_w", when: 15 },
    ]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/0001_y's when \(10\) is not later than 0000_x's \(10\)/);
    expect(problems[1]).toMatch(/0003_w's when \(15\) is not later than 0002_z's \(20\)/);
  });

  it("compares with the latest when before, and lets a listed exception (tag and when exactly) pass", () => {
    const entries = [
      { tag: "0000_x", when: 10 },
      { tag: "0001_y", when: 5 },
      { tag: "0002_z", when: 8 },
    ];
    expect(journalOrderProblems(entries, new Map([["0001_y", 5]]))).toEqual([
      expect.stringMatching(/0002_z's when \(8\) is not later than 0000_x's \(10\)/),
    ]);
    expect(journalOrderProblems(entries, new Map([["0001_y", 6]]))).toHaveLength(2);
  });
});
