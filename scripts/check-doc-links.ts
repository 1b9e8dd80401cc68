/**
 * `npm run lint`: every relative link and `#anchor` in the project's Markdown resolves, and every
 * page under docs/ can be reached from README.md by following links (the README is the front
 * door; a page nobody links to is lost). Anchors are GitHub's heading slugs (github-slugger, the
 * same algorithm GitHub renders with); links with a scheme (https:, mailto:) are not fetched.
 * Code spans that name a repository path (`src/...`, `durable-objects/...`, `docs/...`, ...) must
 * name one that exists, so a moved file cannot leave the documentation pointing at nothing.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import GithubSlugger from "github-slugger";
import MarkdownIt from "markdown-it";

interface Link {
  line: number;
  target: string;
}

interface Page {
  links: Link[];
  paths: Link[];
  anchors: Set<string>;
}

/** A code span that is a path from the repository's root (no globs, braces or placeholders). */
const REPO_PATH = /^(?:src|durable-objects|scripts|test|bench|web|migrations|docs)\/[\w./-]*$/;

const markdown = new MarkdownIt({ html: true });
const pages = new Map<string, Page>();

/** A build output such as `web/dist` (git-ignored: it exists only after a build). */
function isIgnored(file: string): boolean {
  try {
    // Both spellings: an ignore rule like `dist/` matches a folder only when it is named as one.
    execFileSync("git", ["check-ignore", file, `${file}/`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Tracked and untracked-but-not-ignored Markdown files, repo-relative. */
function markdownFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.md"], {
    encoding: "utf8",
  });
  return out.split("\n").filter((file) => file !== "" && existsSync(file));
}

function parse(file: string): Page {
  const cached = pages.get(file);
  if (cached) return cached;
  const tokens = markdown.parse(readFileSync(file, "utf8"), {});
  const slugger = new GithubSlugger();
  const page: Page = { links: [], paths: [], anchors: new Set() };
  let line = 1;
  tokens.forEach((token, i) => {
    if (token.type === "heading_open") {
      const text = (tokens[i + 1]?.children ?? [])
        .filter((child) => child.type === "text" || child.type === "code_inline")
        .map((child) => child.content)
        .join("");
      page.anchors.add(slugger.slug(text));
    }
    if (token.type === "html_block" || token.type === "html_inline") {
      for (const [, anchor] of token.content.matchAll(/\b(?:id|name)="([^"]+)"/g)) {
        if (anchor) page.anchors.add(anchor);
      }
    }
    // Table cells carry no line of their own: they take their row's.
    if (token.map) line = token.map[0] + 1;
    for (const child of token.children ?? []) {
      const target =
        child.type === "link_open"
          ? child.attrGet("href")
          : child.type === "image"
            ? child.attrGet("src")
            : null;
      if (target !== null) page.links.push({ line, target: String(target) });
      if (child.type === "code_inline" && REPO_PATH.test(child.content))
        page.paths.push({ line, target: child.content });
    }
  });
  pages.set(file, page);
  return page;
}

/** The repo-relative file a link points at (or null for an external link) and its anchor. */
function resolve(from: string, target: string): { file: string | null; anchor: string | null } {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) return { file: null, anchor: null };
  const hash = target.indexOf("#");
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
  const file = pathPart === "" ? from : path.normalize(path.join(path.dirname(from), pathPart));
  return { file, anchor };
}

const problems: string[] = [];
const files = markdownFiles();
const linked = new Map<string, string[]>();

for (const file of files) {
  for (const { line, target } of parse(file).links) {
    const { file: to, anchor } = resolve(file, target);
    if (to === null) continue;
    const where = `${file}:${line}: ${target}`;
    if (to.startsWith("..") || !existsSync(to)) {
      problems.push(`${where}: no such file`);
      continue;
    }
    const isMarkdown = to.endsWith(".md") && statSync(to).isFile();
    if (isMarkdown) linked.set(file, [...(linked.get(file) ?? []), to]);
    if (anchor !== null && anchor !== "" && isMarkdown && !parse(to).anchors.has(anchor)) {
      problems.push(`${where}: no heading or anchor "#${anchor}" in ${to}`);
    }
  }
}

for (const file of files) {
  for (const { line, target } of parse(file).paths) {
    if (!existsSync(target) && !isIgnored(target))
      problems.push(`${file}:${line}: \`${target}\`: no such path in the repository`);
  }
}

// Reachability: every page under docs/ from README.md.
const reached = new Set<string>(["README.md"]);
const queue = ["README.md"];
for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
  for (const to of linked.get(file) ?? []) {
    if (!reached.has(to)) {
      reached.add(to);
      queue.push(to);
    }
  }
}
for (const file of files) {
  if (file.startsWith("docs/") && !reached.has(file))
    problems.push(`${file}: not reachable from README.md by links`);
}

if (problems.length > 0) {
  console.error(`Markdown links: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`Markdown links: ${files.length} files, every relative link and anchor resolves.`);
