/**
 * Multi-core benchmark: `examples/parallel.ts` under
 * `deno serve --parallel` with 1 and then 2 workers (`DENO_JOBS`), loaded
 * with `wrk` on 127.0.0.1, interleaved over rounds so that drift on a
 * shared machine hits both alike.
 *
 *     deno run --allow-all bench/parallel.ts               # 3 rounds of 5 s per cell
 *     deno run --allow-all bench/parallel.ts --rounds 5 --duration 10
 *
 * Two workloads: `json` is `GET /whoami` without a cookie (routing and a
 * JSON answer, no I/O), `session` is `GET /` with a logged-in session
 * cookie (a session read from the shared KV file, the notes listed from
 * it, an HTML page). Needs `wrk` (Debian: `apt-get install wrk`). Prints
 * the median requests per second and p99 latency of each cell, and the
 * speed-up of 2 workers over 1.
 *
 * @module
 */

import { serveParallelExample } from "../_test/_process.ts";
import { median, readOptions, requireWrk, wrk } from "./_load.ts";

interface Options {
  rounds: number;
  duration: number;
  connections: number;
  workers: number[];
}

interface Sample {
  rps: number;
  p99ms: number;
}

function parseOptions(args: string[]): Options {
  return readOptions(args, {
    rounds: 3,
    duration: 5,
    connections: 64,
    workers: [1, 2],
  });
}

/** Logs in as `demo` and returns the session cookie (`name=value`). */
async function login(base: string): Promise<string> {
  const response = await fetch(base + "/login", {
    method: "POST",
    body: new URLSearchParams({ user: "demo", password: "pesto" }),
    redirect: "manual",
  });
  await response.body?.cancel();
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  if (response.status !== 303 || !cookie) throw new Error("login failed");
  return cookie;
}

/** One round of one worker count: both workloads on a fresh server. */
async function measure(
  workers: number,
  options: Options,
): Promise<Record<string, Sample>> {
  const server = await serveParallelExample(workers);
  try {
    const base = server.base;
    const cookie = await login(base);
    const session = [`Cookie: ${cookie}`];
    // Warm every worker's JIT before measuring.
    await wrk(base + "/whoami", { ...options, duration: 2 });
    await wrk(base + "/", { ...options, duration: 2, headers: session });
    return {
      json: await wrk(base + "/whoami", options),
      session: await wrk(base + "/", { ...options, headers: session }),
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const samples = new Map<string, Sample[]>();
  for (let round = 1; round <= options.rounds; round++) {
    // Alternate the order each round so no worker count always runs first.
    const order = round % 2 ? options.workers : [...options.workers].reverse();
    for (const workers of order) {
      const result = await measure(workers, options);
      for (const [workload, sample] of Object.entries(result)) {
        const key = `${workload} ${workers}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        console.error(
          `round ${round}, ${workers} worker(s), ${workload}: ${
            sample.rps.toFixed(0)
          } req/s`,
        );
      }
    }
  }
  const rps = (key: string) =>
    median((samples.get(key) ?? []).map((s) => s.rps));
  const p99 = (key: string) =>
    median((samples.get(key) ?? []).map((s) => s.p99ms));
  console.log(
    `\n${
      new Date().toISOString().slice(0, 10)
    }, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ` +
      `${options.rounds} rounds × ${options.duration} s, wrk -t1 -c${options.connections}, medians\n`,
  );
  console.log(table(options.workers, rps, p99));
}

/**
 * The results as a Markdown table: req/s per worker count, the speed-up of
 * each count over the first, and p99 latencies.
 */
function table(
  counts: number[],
  rps: (key: string) => number,
  p99: (key: string) => number,
): string {
  const workers = (n: number) => `${n} worker${n === 1 ? "" : "s"}`;
  const others = counts.slice(1);
  const lines = [
    `| workload | ${counts.map((n) => `${workers(n)} req/s`).join(" | ")} | ${
      others.map((n) => `speed-up ${n}/${counts[0]}`).join(" | ")
    }${others.length ? " | " : ""}p99 ms (${counts.join(" / ")}) |`,
    `| --- |${" ---: |".repeat(counts.length * 2)}`,
  ];
  for (const workload of ["json", "session"]) {
    const at = (n: number) => `${workload} ${n}`;
    const speedUps = others.map((n) =>
      `×${(rps(at(n)) / rps(at(counts[0]))).toFixed(2)}`
    );
    lines.push(
      `| ${workload} | ${
        counts.map((n) => rps(at(n)).toFixed(0)).join(" | ")
      } | ${speedUps.join(" | ")}${speedUps.length ? " | " : ""}${
        counts.map((n) => p99(at(n)).toFixed(2)).join(" / ")
      } |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  await requireWrk();
  await main();
}
