/**
 * `npm run lint`: one name per concept. No two exported types (type aliases, interfaces, enums,
 * classes) in src/ and durable-objects/ share a name: a concept both the Worker and the market's
 * object need lives in one module both import, and two different things get two names.
 * Re-exports (`export type { X } from "./x"`) are the same type and do not count.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const ROOTS = ["src", "durable-objects"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

function isExported(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

/** Exported type names declared in a file, with their lines. */
function exportedTypes(file: string): { name: string; line: number }[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
  const found: { name: string; line: number }[] = [];
  for (const statement of source.statements) {
    const declares =
      ts.isTypeAliasDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isEnumDeclaration(statement) ||
      ts.isClassDeclaration(statement);
    if (declares && statement.name && isExported(statement)) {
      const line = source.getLineAndCharacterOfPosition(statement.getStart(source)).line + 1;
      found.push({ name: statement.name.text, line });
    }
  }
  return found;
}

const byName = new Map<string, string[]>();
for (const file of ROOTS.flatMap(sourceFiles)) {
  for (const { name, line } of exportedTypes(file))
    byName.set(name, [...(byName.get(name) ?? []), `${file}:${line}`]);
}

const twice = [...byName].filter(([, places]) => places.length > 1).sort(([a], [b]) => a.localeCompare(b));
if (twice.length > 0) {
  console.error(
    `Exported type names declared more than once in ${ROOTS.join("/, ")}/ (one name per concept):`,
  );
  for (const [name, places] of twice) console.error(`  ${name}: ${places.join(", ")}`);
  process.exit(1);
}
console.log(`Exported type names: ${byName.size}, each declared once.`);
