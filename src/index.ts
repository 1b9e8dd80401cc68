import { createApp } from "./app";
import { runScheduledJobs } from "./jobs/scheduled";

export { OrderBook } from "../durable-objects/order-book";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(env, controller.cron));
  },
} satisfies ExportedHandler<Env>;
