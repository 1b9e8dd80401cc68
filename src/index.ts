import { createApp } from "./app";
import { scheduledJobs } from "./jobs/scheduled-jobs";
import { runScheduledJobs } from "./jobs/scheduled";

export { AccountStream } from "../durable-objects/account-stream/account-stream";
export { OrderBook } from "../durable-objects/order-book";
export { StreamHub } from "../durable-objects/stream-hub/stream-hub";
export { UserService } from "./rpc/user-service";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(env, controller.cron, scheduledJobs));
  },
} satisfies ExportedHandler<Env>;
