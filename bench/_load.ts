// Helpers shared by the HTTP load benchmarks: a free port, command-line
// options, and wrk runs read into numbers.
import { parseArgs } from "node:util";

export { freePort } from "../_test/_process.ts";

/** Option values: a number, or a comma-separated list of numbers or names. */
type OptionValue = number | number[] | string[];

/**
 * Reads `--name value` options over `defaults`, one per key: a number for a
 * number, a comma-separated list for a list (of numbers when the default's
 * are). Throws on an unknown option or a missing value.
 */
export function readOptions<T extends Record<string, OptionValue>>(
  args: string[],
  defaults: T,
): T {
  const { values } = parseArgs({
    args,
    strict: true,
    options: Object.fromEntries(
      Object.keys(defaults).map((name) => [name, { type: "string" as const }]),
    ),
  });
  const options: Record<string, OptionValue> = { ...defaults };
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== "string") continue;
    const fallback = defaults[name];
    options[name] = typeof fallback === "number"
      ? Number(value)
      : typeof fallback[0] === "number"
      ? value.split(",").map(Number)
      : value.split(",");
  }
  return options as T;
}

/** What `wrk` is asked to do. */
export interface WrkOptions {
  /** Open connections. */
  connections: number;
  /** Seconds of load. */
  duration: number;
  /** A Lua script (path) that shapes the requests. */
  script?: string;
  /** Extra request headers, `Name: value`. */
  headers?: string[];
}

/** What one `wrk` run measured. */
export interface WrkResult {
  /** Requests completed. */
  requests: number;
  /** Requests per second. */
  rps: number;
  /** 99th percentile latency in milliseconds. */
  p99ms: number;
}

/**
 * Loads `url` with `wrk -t1` and reads its report; throws when wrk fails or
 * saw any answer that is not 2xx or 3xx.
 */
export async function wrk(
  url: string,
  options: WrkOptions,
): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.duration}s`,
    "--latency",
    ...(options.headers ?? []).flatMap((header) => ["-H", header]),
  ];
  if (options.script) args.push("-s", options.script);
  args.push(url);
  const { stdout, success } = await new Deno.Command("wrk", {
    args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (!success) throw new Error(`wrk failed:\n${text}`);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (errors) {
    throw new Error(`wrk saw ${errors[1]} error responses for ${url}`);
  }
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(text);
  return {
    requests: Number(/(\d+) requests in/.exec(text)?.[1]),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    p99ms: p99
      ? Number(p99[1]) * (p99[2] === "us" ? 0.001 : p99[2] === "s" ? 1000 : 1)
      : NaN,
  };
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Exits with a hint when `wrk` is not installed (nothing is installed here). */
export async function requireWrk(): Promise<void> {
  try {
    await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    console.error(
      "This benchmark needs wrk: apt-get install wrk (Debian) or brew install wrk.",
    );
    Deno.exit(1);
  }
}
