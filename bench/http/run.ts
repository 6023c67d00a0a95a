/**
 * HTTP load benchmark: raw `Deno.serve`, Hono and Pesto on the same
 * workloads, hello text, a JSON answer by id, an 80 KB byte body, a 1 MB
 * static file and a small urlencoded form (plus `raw-strict`, raw
 * `Deno.serve` checking Host as Pesto must and sending an explicit
 * Content-Type, and `pesto-bundled`, the Pesto server
 * bundled into one file by `deno bundle`), loaded in turn with `wrk` on
 * 127.0.0.1, interleaved over rounds so that drift on a shared machine hits
 * every server alike.
 *
 *     deno task bench:http                 # 5 rounds of 10 s per cell
 *     deno task bench:http --rounds 3 --duration 5 --connections 50
 *
 * Needs `wrk` (Debian: `apt-get install wrk`); it installs nothing itself.
 * For each cell it prints the median over rounds of: requests per second,
 * p99 latency, server CPU time per request (user + system, from
 * `/proc/<pid>/stat`), efficiency relative to raw hello (raw hello's CPU per
 * request divided by this cell's), and idle and peak RSS.
 *
 * @module
 */

import { bundle, runOnPort } from "../../_test/_process.ts";
import { median, readOptions, requireWrk, wrk } from "../_load.ts";

interface Options {
  rounds: number;
  duration: number;
  connections: number;
  servers: string[];
  workloads: string[];
}

interface Sample {
  rps: number;
  p99ms: number;
  cpuUsPerRequest: number;
  idleRssKiB: number;
  peakRssKiB: number;
}

const SERVERS: Record<string, string> = {
  raw: "servers/raw.ts",
  "raw-strict": "servers/raw_strict.ts",
  hono: "servers/hono.ts",
  pesto: "servers/pesto.ts",
  "pesto-handler": "servers/pesto_hello.ts",
  "pesto-bundled": "servers/pesto.ts", // bundled in main() before the run
};

const WORKLOADS: Record<
  string,
  { path: string; script?: string; servers?: string[] }
> = {
  hello: { path: "/" },
  json: {
    path: "/user/42",
    servers: ["raw", "raw-strict", "hono", "pesto", "pesto-bundled"],
  },
  download: {
    path: "/file",
    servers: ["raw", "hono", "pesto", "pesto-bundled"],
  },
  static: {
    path: "/static/big.bin",
    servers: ["raw", "hono", "pesto", "pesto-bundled"],
  },
  form: {
    path: "/form",
    script: "post_form.lua",
    servers: ["raw", "hono", "pesto", "pesto-bundled"],
  },
};

const here = new URL(".", import.meta.url);

function scriptPath(script: string | undefined): string | undefined {
  return script === undefined ? undefined : new URL(script, here).pathname;
}
const TICKS_PER_SECOND = 100; // Linux USER_HZ

function parseOptions(args: string[]): Options {
  return readOptions(args, {
    rounds: 5,
    duration: 10,
    connections: 50,
    servers: Object.keys(SERVERS),
    workloads: Object.keys(WORKLOADS),
  });
}

async function readProc(
  pid: number,
): Promise<{ cpuTicks: number; rssKiB: number; hwmKiB: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuTicks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (name: string) =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuTicks, rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM") };
}

async function measure(
  script: string,
  workload: string,
  options: Options,
  staticDir: string,
): Promise<Sample> {
  const running = await runOnPort(script, {
    stderr: "inherit",
    timeout: 20_000,
    env: { STATIC_DIR: staticDir },
    allowRead: staticDir,
  });
  try {
    const base = running.base;
    const { script, path } = WORKLOADS[workload];
    // Warm up the JIT, then let the server settle before reading idle RSS.
    await wrk(base + path, {
      ...options,
      duration: 1,
      script: scriptPath(script),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await readProc(running.pid);
    const load = await wrk(base + path, {
      ...options,
      script: scriptPath(script),
    });
    const after = await readProc(running.pid);
    const cpuSeconds = (after.cpuTicks - before.cpuTicks) / TICKS_PER_SECOND;
    return {
      rps: load.rps,
      p99ms: load.p99ms,
      cpuUsPerRequest: (cpuSeconds * 1e6) / load.requests,
      idleRssKiB: before.rssKiB,
      peakRssKiB: after.hwmKiB,
    };
  } finally {
    await running.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const cells: [string, string][] = [];
  for (const workload of options.workloads) {
    for (const server of options.servers) {
      const only = WORKLOADS[workload].servers;
      if (!only || only.includes(server)) cells.push([server, workload]);
    }
  }
  const samples = new Map<string, Sample[]>();
  const outDir = await Deno.makeTempDir({ prefix: "pesto-bench-" });
  // The static files the servers serve: one 1 MB file.
  const staticDir = `${outDir}/static`;
  await Deno.mkdir(staticDir);
  await Deno.writeFile(
    `${staticDir}/big.bin`,
    new Uint8Array(1_000_000).fill(0x62),
  );
  try {
    const scripts = await serverScripts(options.servers, outDir);
    for (let round = 1; round <= options.rounds; round++) {
      await runRound(round, cells, scripts, samples, { options, staticDir });
    }
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
  printTable(samples, options);
}

/** Each server's script; `pesto-bundled` is built into `outDir` first. */
async function serverScripts(
  servers: string[],
  outDir: string,
): Promise<Record<string, string>> {
  const scripts: Record<string, string> = {};
  for (const server of servers) {
    const source = new URL(SERVERS[server], here).pathname;
    scripts[server] = server === "pesto-bundled"
      ? await bundle(source, outDir)
      : source;
  }
  return scripts;
}

/** One round over every cell, in an order rotated by the round number. */
async function runRound(
  round: number,
  cells: [string, string][],
  scripts: Record<string, string>,
  samples: Map<string, Sample[]>,
  { options, staticDir }: { options: Options; staticDir: string },
): Promise<void> {
  // Rotate the order each round so no server always runs first.
  const order = cells.map((_, i) => cells[(i + round) % cells.length]);
  for (const [server, workload] of order) {
    const sample = await measure(
      scripts[server],
      workload,
      options,
      staticDir,
    );
    const key = `${server} ${workload}`;
    samples.set(key, [...(samples.get(key) ?? []), sample]);
    console.error(
      `round ${round} ${key}: ${sample.rps.toFixed(0)} req/s, ${
        sample.cpuUsPerRequest.toFixed(2)
      } µs CPU/req`,
    );
  }
}

/** Prints the medians over rounds as a Markdown table. */
function printTable(samples: Map<string, Sample[]>, options: Options): void {
  const rawHello = samples.get("raw hello");
  const baseline = rawHello
    ? median(rawHello.map((s) => s.cpuUsPerRequest))
    : NaN;
  const rows = [...samples].map(([key, list]) => {
    const m = (f: (s: Sample) => number) => median(list.map(f));
    return {
      cell: key,
      rps: m((s) => s.rps),
      p99: m((s) => s.p99ms),
      cpu: m((s) => s.cpuUsPerRequest),
      idle: m((s) => s.idleRssKiB) / 1024,
      peak: m((s) => s.peakRssKiB) / 1024,
    };
  });
  console.log(
    `\n${
      new Date().toISOString().slice(0, 10)
    }, Deno ${Deno.version.deno}, ${options.rounds} rounds × ${options.duration} s, ` +
      `wrk -t1 -c${options.connections}, medians\n`,
  );
  console.log(
    "| server / workload | req/s | p99 ms | CPU µs/req | efficiency vs raw hello | idle RSS MiB | peak RSS MiB |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) {
    console.log(
      `| ${row.cell} | ${row.rps.toFixed(0)} | ${row.p99.toFixed(2)} | ${
        row.cpu.toFixed(2)
      } | ${((baseline / row.cpu) * 100).toFixed(0)}% | ${
        row.idle.toFixed(1)
      } | ${row.peak.toFixed(1)} |`,
    );
  }
}

if (import.meta.main) {
  await requireWrk();
  await main();
}
