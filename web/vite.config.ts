import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// The web app builds into web/dist, which wrangler.toml's [assets] serves from the same Worker.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
});
