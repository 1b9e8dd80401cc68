import preact from "@preact/preset-vite";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { defineConfig, type Plugin } from "vite";

/**
 * Copies swagger-ui-dist's bundle and stylesheet to dist/docs/assets, where the Worker's /docs
 * page loads them from (src/routes/docs.ts): the API docs come from this Worker, not a CDN.
 */
function swaggerUiAssets(): Plugin {
  const dir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  return {
    name: "pandora-swagger-ui-assets",
    apply: "build",
    generateBundle() {
      for (const file of ["swagger-ui.css", "swagger-ui-bundle.js"]) {
        this.emitFile({
          type: "asset",
          fileName: `docs/assets/${file}`,
          source: readFileSync(join(dir, file)),
        });
      }
    },
  };
}

// The web app builds into web/dist, which wrangler.toml's [assets] serves from the same Worker.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), swaggerUiAssets()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
});
