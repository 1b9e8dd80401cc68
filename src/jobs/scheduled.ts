import { Logger, describeError, parseLogLevel } from "../lib/logger";
import { productionRefusal } from "../lib/production-secrets";
import { jobRuns } from "../lib/metrics/worker-metrics";

/** A periodic task run by the Cron Trigger. Each job is independent: one failing never stops the others. */
export interface ScheduledJob {
  name: string;
  run(env: Env, log: Logger): Promise<Record<string, unknown> | void>;
}

export async function runScheduledJobs(env: Env, cron: string, jobs: ScheduledJob[]): Promise<void> {
  const log = new Logger(parseLogLevel(env.LOG_LEVEL), { cron, run_id: crypto.randomUUID() });
  if (productionRefusal(env, log).length) return; // logged: jobs must not run on guessable secrets
  for (const job of jobs) {
    const started = Date.now();
    try {
      const result = await job.run(env, log.child({ job: job.name }));
      log.info("job finished", { job: job.name, duration_ms: Date.now() - started, ...(result ?? {}) });
      jobRuns.series(job.name, "ok").inc();
    } catch (err) {
      log.error("job failed", { job: job.name, duration_ms: Date.now() - started, ...describeError(err) });
      jobRuns.series(job.name, "failed").inc();
    }
  }
}
