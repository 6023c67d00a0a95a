/**
 * Paired HTTP benchmark: the Pesto server at a base git revision against the
 * same server on the working tree, as the project's rules ask for on these
 * noisy machines (±15% from one run to the next).
 *
 *     deno run --allow-all bench/http/compare.ts --base HEAD~1
 *     deno run --allow-all bench/http/compare.ts --base v0.1.0 \
 *       --slices 16 --seconds 2 --connections 50 --workloads hello,json,form
 *
 * Method. The base revision is extracted with `git archive` into a temporary
 * folder (nothing is added to the repository or its worktree list), and the
 * working tree's `bench/http/servers/pesto.ts` is copied into it, so both
 * servers run the same script and only the library differs. Each runs with
 * its own tree's `deno.json` (`--config`), which maps `@pesto/pesto` to that
 * tree's files; `deno info` checks this before the run. Both servers start
 * once, on their own free ports on 127.0.0.1, and stay up. For each workload
 * each server is warmed with 2 s of load, then `--slices` rounds follow: in
 * each round base and current are loaded in turn, with `wrk -t1
 * -c<connections>` for `--seconds`, the one that goes first alternating from
 * round to round. Around each slice the server's CPU time is read as the sum,
 * over its threads, of the run time in `/proc/<pid>/task/<tid>/schedstat`
 * (nanoseconds; `/proc/<pid>/stat`'s utime + stime, in 10 ms ticks, is read
 * too and the two totals are compared at the end), and divided by the
 * requests wrk completed. A thread that exits during a slice loses its run
 * time in that slice; Deno's idle threads exit after seconds without work,
 * so such a thread had none to lose.
 *
 * It prints, per workload, the median CPU µs per request of each server and
 * the median over rounds of the per-round ratio current / base, with its
 * interquartile range and its minimum and maximum, as a Markdown table for
 * `bench/README.md`. A ratio below 1 means the working tree uses less CPU per
 * request. The run takes about workloads × (slices × 2 × seconds + 4) s.
 *
 * Needs `wrk` and `git`; it installs nothing itself.
 *
 * @module
 */

import { freePort, waitUntilAnswers } from "../../_test/_process.ts";
import { median, readOptions, requireWrk, wrk } from "../_load.ts";

interface Options {
  /** The base revision, one value. */
  base: string[];
  slices: number;
  seconds: number;
  connections: number;
  workloads: string[];
}

/** A server that stays up for the whole run. */
interface Server {
  label: "base" | "current";
  /** Its base URL, `http://127.0.0.1:<port>`. */
  url: string;
  /** Its process id (the `deno` process itself). */
  pid: number;
  /** Stops it and waits until it is gone. */
  stop(): Promise<void>;
}

/** The server's CPU counters at one moment. */
interface CpuReading {
  /** Run time in ns of each live thread, by thread id. */
  threads: Map<number, number>;
  /** utime + stime of the whole process, in ticks of 10 ms. */
  ticks: number;
}

/** What one slice of load on one server measured. */
interface Slice {
  requests: number;
  /** Server CPU time in ns, from schedstat. */
  cpuNs: number;
  /** Server CPU time in ticks, from /proc/<pid>/stat. */
  ticks: number;
}

/** The workloads of `servers/pesto.ts` (static needs a folder, left out). */
const WORKLOADS: Record<string, { path: string; script?: string }> = {
  hello: { path: "/" },
  json: { path: "/user/42" },
  download: { path: "/file" },
  form: { path: "/form", script: "post_form.lua" },
};

const WARM_SECONDS = 2;
/** Pause after wrk ends, before the CPU is read: connections close. */
const SETTLE_MS = 100;
const NS_PER_TICK = 10_000_000; // Linux USER_HZ = 100
const here = new URL(".", import.meta.url);
const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const SERVER = "bench/http/servers/pesto.ts";
/** Where the working tree's server script goes in the base checkout. */
const SERVER_COPY = "bench/http/servers/_compare_pesto.ts";

function parseOptions(args: string[]): Options {
  const options = readOptions(args, {
    base: [] as string[],
    slices: 16,
    seconds: 2,
    connections: 50,
    workloads: ["hello", "json", "form"],
  });
  const problems = [
    options.base.length !== 1 && "--base <git-rev> is required (one revision)",
    !(Number.isInteger(options.slices) && options.slices > 0) &&
    "--slices must be a positive integer",
    !(Number.isInteger(options.seconds) && options.seconds > 0) &&
    "--seconds must be a positive integer (wrk takes whole seconds)",
    !(Number.isInteger(options.connections) && options.connections > 0) &&
    "--connections must be a positive integer",
    ...options.workloads.filter((w) => !(w in WORKLOADS)).map((w) =>
      `unknown workload ${w} (known: ${Object.keys(WORKLOADS).join(", ")})`
    ),
  ].filter((problem): problem is string => typeof problem === "string");
  if (problems.length) throw new Error(problems.join("\n"));
  return options;
}

/** Runs a command in the repository and returns its trimmed output. */
async function run(command: string, args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  if (!success) {
    throw new Error(`${command} ${args.join(" ")}: ${decode(stderr)}`);
  }
  return decode(stdout);
}

/** Extracts `rev` into `dir` with `git archive` and adds the server copy. */
async function checkout(rev: string, dir: string): Promise<void> {
  const tar = `${dir}.tar`;
  try {
    await run("git", ["archive", `--output=${tar}`, rev]);
    await run("tar", ["-x", "-f", tar, "-C", dir]);
  } finally {
    await Deno.remove(tar).catch(() => {});
  }
  await Deno.copyFile(`${root}/${SERVER}`, `${dir}/${SERVER_COPY}`);
}

/**
 * Throws unless every local module of `script`, under `tree`'s deno.json,
 * is a file of `tree`, its `mod.ts` among them, and every module is found.
 */
async function checkResolution(tree: string, script: string): Promise<void> {
  const info = JSON.parse(
    await run(Deno.execPath(), [
      "info",
      "--json",
      "--config",
      `${tree}/deno.json`,
      `${tree}/${script}`,
    ]),
  ) as { modules: { specifier: string; error?: string }[] };
  const broken = info.modules.filter((m) => m.error).map((m) => m.error);
  if (broken.length) {
    throw new Error(`${tree}/${script} does not load:\n${broken.join("\n")}`);
  }
  const files = info.modules.map((m) => m.specifier)
    .filter((s) => s.startsWith("file://"));
  const outside = files.filter((s) => !s.startsWith(`file://${tree}/`));
  if (outside.length || !files.includes(`file://${tree}/mod.ts`)) {
    throw new Error(
      `${script} in ${tree} does not resolve @pesto/pesto to ${tree}/mod.ts` +
        (outside.length ? `; outside: ${outside.join(", ")}` : ""),
    );
  }
}

/** Starts `script` of `tree` with that tree's deno.json on a free port. */
async function startServer(
  label: "base" | "current",
  tree: string,
  script: string,
): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--config",
      `${tree}/deno.json`,
      script,
    ],
    cwd: tree,
    env: { PORT: String(port) },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const stop = async (): Promise<void> => {
    try {
      child.kill();
    } catch { /* already gone */ }
    await child.status;
  };
  const url = `http://127.0.0.1:${port}`;
  if (!(await waitUntilAnswers(url, 30_000))) {
    await stop();
    throw new Error(`the ${label} server (${tree}/${script}) did not start`);
  }
  return { label, url, pid: child.pid, stop };
}

/** Reads the CPU time of every thread of `pid`, and of the whole process. */
async function readCpu(pid: number): Promise<CpuReading> {
  const threads = new Map<number, number>();
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const schedstat = await Deno.readTextFile(
        `/proc/${pid}/task/${entry.name}/schedstat`,
      );
      threads.set(Number(entry.name), Number(schedstat.split(" ")[0]));
    } catch { /* the thread exited meanwhile */ }
  }
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { threads, ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU ns between two readings, over the threads alive at the second. */
function cpuNsBetween(before: CpuReading, after: CpuReading): number {
  let ns = 0;
  for (const [tid, runNs] of after.threads) {
    ns += runNs - (before.threads.get(tid) ?? 0);
  }
  return ns;
}

/** Loads `server` with `workload` for `seconds` and reads its CPU around. */
async function loadSlice(
  server: Server,
  workload: string,
  { connections, seconds }: { connections: number; seconds: number },
): Promise<Slice> {
  const { path, script } = WORKLOADS[workload];
  const before = await readCpu(server.pid);
  const load = await wrk(server.url + path, {
    connections,
    duration: seconds,
    script: script && new URL(script, here).pathname,
  });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const after = await readCpu(server.pid);
  return {
    requests: load.requests,
    cpuNs: cpuNsBetween(before, after),
    ticks: after.ticks - before.ticks,
  };
}

/** CPU µs per request of a slice. */
function usPerRequest(slice: Slice): number {
  return slice.cpuNs / 1000 / slice.requests;
}

/** The `q` quantile of some numbers, linearly interpolated (R's type 7). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/** The base and the current revision, described for the report. */
async function describeRevisions(
  base: string,
): Promise<{ base: string; current: string }> {
  const baseShort = await run("git", ["rev-parse", "--short", base]);
  const head = await run("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = await run("git", ["status", "--porcelain", "-uno"]);
  return {
    base: base === baseShort ? base : `${base} (${baseShort})`,
    current: `working tree (HEAD ${head}, ${
      dirty ? "dirty: tracked files modified" : "clean"
    })`,
  };
}

/** Prints the run's header and one Markdown row per workload. */
function printReport(
  results: Map<string, { base: Slice[]; current: Slice[] }>,
  options: Options,
  revisions: { base: string; current: string },
): void {
  const f2 = (x: number) => x.toFixed(2);
  const f3 = (x: number) => x.toFixed(3);
  console.log(
    [
      "",
      `${new Date().toISOString().slice(0, 10)}, Deno ${Deno.version.deno}`,
      `base: ${revisions.base}`,
      `current: ${revisions.current}`,
      `${options.slices} paired slices × ${options.seconds} s per workload, ` +
      `wrk -t1 -c${options.connections}, server CPU from ` +
      "/proc/<pid>/task/*/schedstat",
      "",
    ].join("\n"),
  );
  console.log(
    "| workload | base µs/req | current µs/req | current/base (median) | IQR | min–max |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  const all: Slice[] = [];
  for (const [workload, { base, current }] of results) {
    const ratios = base.map((b, i) =>
      usPerRequest(current[i]) / usPerRequest(b)
    );
    console.log(
      `| ${workload} | ${f2(median(base.map(usPerRequest)))} | ${
        f2(median(current.map(usPerRequest)))
      } | ${f3(median(ratios))} | ${f3(quantile(ratios, 0.25))}–${
        f3(quantile(ratios, 0.75))
      } | ${f3(Math.min(...ratios))}–${f3(Math.max(...ratios))} |`,
    );
    all.push(...base, ...current);
  }
  const ns = all.reduce((sum, s) => sum + s.cpuNs, 0);
  const ticks = all.reduce((sum, s) => sum + s.ticks, 0);
  console.log(
    `\nCheck: over all slices, schedstat counted ${(ns / 1e9).toFixed(2)} s ` +
      `of server CPU, /proc/<pid>/stat ${
        (ticks * NS_PER_TICK / 1e9).toFixed(2)
      } s.`,
  );
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const rev = options.base[0];
  await run("git", ["rev-parse", "--verify", `${rev}^{commit}`]);
  const revisions = await describeRevisions(rev);
  const seconds = options.workloads.length *
    (options.slices * 2 * (options.seconds + SETTLE_MS / 1000) +
      2 * WARM_SECONDS);
  console.error(`About ${Math.ceil(seconds)} s of load, plus start-up.`);
  const dir = await Deno.makeTempDir({ prefix: "pesto-compare-" });
  const servers: Server[] = [];
  const cleanUp = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const onInterrupt = () => cleanUp().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    await checkout(rev, dir);
    const baseScript = await Deno.readTextFile(`${dir}/${SERVER}`)
      .catch(() => "");
    if (baseScript !== await Deno.readTextFile(`${root}/${SERVER}`)) {
      console.error(`Note: ${SERVER} differs at ${rev}; both run the current.`);
    }
    await checkResolution(dir, SERVER_COPY);
    await checkResolution(root, SERVER);
    servers.push(await startServer("base", dir, SERVER_COPY));
    servers.push(await startServer("current", root, SERVER));
    const [base, current] = servers;
    const results = new Map<string, { base: Slice[]; current: Slice[] }>();
    for (const workload of options.workloads) {
      for (const server of servers) {
        await loadSlice(server, workload, {
          ...options,
          seconds: WARM_SECONDS,
        });
      }
      const slices = { base: [] as Slice[], current: [] as Slice[] };
      for (let round = 0; round < options.slices; round++) {
        const order = round % 2 ? [current, base] : [base, current];
        for (const server of order) {
          const slice = await loadSlice(server, workload, options);
          slices[server.label].push(slice);
        }
        const b = usPerRequest(slices.base[round]);
        const c = usPerRequest(slices.current[round]);
        console.error(
          `${workload} ${round + 1}/${options.slices}: base ${b.toFixed(2)}, ` +
            `current ${c.toFixed(2)} µs/req, ratio ${(c / b).toFixed(3)}`,
        );
      }
      results.set(workload, slices);
    }
    printReport(results, options, revisions);
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    await cleanUp();
  }
}

if (import.meta.main) {
  await requireWrk();
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
