import { swaggerUI } from "@hono/swagger-ui";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/app-env";

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
  app.get("/docs", swaggerUI({ url: "/openapi.json" }));
}
