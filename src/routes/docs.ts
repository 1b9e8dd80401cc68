import type { OpenAPIHono } from "@hono/zod-openapi";
import { html } from "hono/html";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../http/app-env";

/**
 * Where the web build puts swagger-ui-dist's files (pinned in package.json) (web/vite.config.ts): served from this Worker's
 * static assets, so the docs page loads nothing from a third party.
 */
export const SWAGGER_UI_ASSETS = "/docs/assets";

// Only this Worker's own scripts and the page's nonce-bearing init script may run; Swagger UI
// sets inline styles, and "Try it out" calls this origin only.
const docsPolicy = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'", NONCE],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    fontSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  crossOriginResourcePolicy: "same-origin",
});

/** Publishes the OpenAPI 3.1 document built from the route definitions, and Swagger UI over it. */
export function mountDocs(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "binanceApiKey", {
    type: "apiKey",
    in: "header",
    name: "X-MBX-APIKEY",
    description:
      "Binance-compatible SIGNED endpoints: also `timestamp`, optional `recvWindow` and `signature` = hex HMAC-SHA256 of the query string + form body (docs/binance-api.md).",
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Pandora Exchange API",
      version: "1.0.0",
      description:
        "Spot crypto exchange at the edge. Amounts and prices are decimal strings; errors share one shape.",
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.get("/docs", docsPolicy, (c) =>
    c.html(
      html`<!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>Pandora Exchange API</title>
          </head>
          <body>
            <div id="swagger-ui"></div>
            <link rel="stylesheet" href="${SWAGGER_UI_ASSETS}/swagger-ui.css" />
            <script src="${SWAGGER_UI_ASSETS}/swagger-ui-bundle.js"></script>
            <script nonce="${c.get("secureHeadersNonce")}">
              window.onload = () => {
                window.ui = SwaggerUIBundle({ dom_id: "#swagger-ui", url: "/openapi.json" });
              };
            </script>
          </body>
        </html>`,
    ),
  );
}
