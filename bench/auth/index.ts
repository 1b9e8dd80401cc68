import { cpus, loadavg } from "node:os";
import { startWorkerUnderTest } from "../lib/worker-under-test";
import { closedLoop, summarize, type LoadFigures } from "./load";

// npm run bench:auth — the Worker itself (bundled by wrangler, run by the Miniflare API: no
// reloading proxy, no local request tracing) against the local Postgres + Redis stack.
// GET /users/me (no Postgres while the session is cached), GET /orders?limit=1 (one Postgres
// query) and POST /auth/refresh at 50 connections beside GET /health (no I/O) as the floor, and
// login latency one at a time (Argon2id is CPU-bound on one workerd thread).

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const LOGINS = Number(process.env.BENCH_LOGINS ?? CONNECTIONS);
const PASSWORD = "benchmark pass phrase";

const ms = (n: number) => n.toFixed(1);

function row(name: string, f: LoadFigures): string {
  const cpu = (n: number | undefined) => (n === undefined ? "n/a" : n.toFixed(2));
  return (
    `| ${name} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${f.rps.toFixed(0)} | ${f.requests} | ${f.errors} ` +
    `| ${cpu(f.cpuMsPerRequest)} | ${cpu(f.workerdCpuMsPerRequest)} |`
  );
}

async function main() {
  const worker = await startWorkerUnderTest("auth");
  try {
    const { base, post } = worker;

    const email = `bench-${Date.now()}@example.test`;
    await post("/api/v1/auth/register", {
      email,
      password: PASSWORD,
      first_name: "Bench",
      last_name: "Mark",
    });

    console.error(`logging in ${LOGINS} times, one at a time…`);
    const loginSamples: number[] = [];
    const refreshTokens: string[] = [];
    let accessToken = "";
    const loginStarted = performance.now();
    for (let i = 0; i < LOGINS; i++) {
      const t0 = performance.now();
      const pair = await post("/api/v1/auth/login", {
        email,
        password: PASSWORD,
        device_label: `bench ${i}`,
      });
      loginSamples.push(performance.now() - t0);
      refreshTokens.push(pair.refresh_token as string);
      accessToken = pair.access_token as string;
    }
    const loginFigures = summarize(loginSamples.slice(2), 0, (performance.now() - loginStarted) / 1000);

    console.error(`GET /health (floor), ${CONNECTIONS} connections, ${SECONDS} s…`);
    const floor = await closedLoop(base, CONNECTIONS, SECONDS, WARMUP_SECONDS, () => ({
      method: "GET",
      path: "/health",
    }));
    console.error("GET /api/v1/users/me…");
    const me = await worker.profile("users-me", () =>
      closedLoop(base, CONNECTIONS, SECONDS, WARMUP_SECONDS, () => ({
        method: "GET",
        path: "/api/v1/users/me",
        headers: { authorization: `Bearer ${accessToken}` },
      })),
    );
    console.error("GET /api/v1/orders?limit=1 (one Postgres query)…");
    const read = await worker.profile("orders-read", () =>
      closedLoop(base, CONNECTIONS, SECONDS, WARMUP_SECONDS, () => ({
        method: "GET",
        path: "/api/v1/orders?limit=1",
        headers: { authorization: `Bearer ${accessToken}` },
      })),
    );
    console.error("POST /api/v1/auth/refresh (each connection rotates its own session)…");
    const tokens = refreshTokens.slice(0, CONNECTIONS);
    while (tokens.length < CONNECTIONS) tokens.push(tokens[tokens.length % LOGINS]!);
    const refresh = await closedLoop(
      base,
      CONNECTIONS,
      SECONDS,
      WARMUP_SECONDS,
      (w) => ({
        method: "POST",
        path: "/api/v1/auth/refresh",
        body: JSON.stringify({ refresh_token: tokens[w] }),
      }),
      (w, body) => {
        tokens[w] = (JSON.parse(body) as { refresh_token: string }).refresh_token;
      },
    );

    const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const report = [
      `### Run of ${when} (${CONNECTIONS} connections, ${SECONDS} s per route after ${WARMUP_SECONDS} s warm-up)`,
      "",
      `Machine: ${cpus().length} CPUs, load average at the end ${loadavg()
        .map((n) => n.toFixed(1))
        .join(" / ")} (1 / 5 / 15 min).`,
      "",
      "| route | p50 ms | p95 ms | p99 ms | req/s | requests | errors | CPU ms/req | workerd CPU ms/req |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      row("GET /health (floor)", floor),
      row("GET /api/v1/users/me", me),
      row("GET /api/v1/orders?limit=1", read),
      row("POST /api/v1/auth/refresh", refresh),
      "",
      "CPU ms/req: CPU time of every process of the run (stack, workerd, this client) per request,",
      "in the measured window: what a request costs the machine, even when other work shares it;",
      "workerd's part is what its one JavaScript thread spends, the Worker's own limit.",
      "",
      `Login, one at a time (${loginFigures.requests} logins): p50 ${ms(loginFigures.p50)} ms, p95 ${ms(loginFigures.p95)} ms.`,
      "",
      `Targets: /users/me p95 < 50 ms (${me.p95 < 50 ? "met" : "MISSED"}) and ≤ 2× the floor's p95 ` +
        `(${ms(me.p95)} vs 2 × ${ms(floor.p95)}: ${me.p95 <= 2 * floor.p95 ? "met" : "MISSED"}); ` +
        `login p95 < 500 ms (${loginFigures.p95 < 500 ? "met" : "MISSED"}); ` +
        `/orders?limit=1 ≥ 30% of the floor's req/s (${((100 * read.rps) / floor.rps).toFixed(0)}%: ` +
        `${read.rps >= 0.3 * floor.rps ? "met" : "MISSED"}).`,
    ].join("\n");
    console.log(report);
  } finally {
    await worker.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
