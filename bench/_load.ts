// Helpers shared by the HTTP load benchmarks: a free port, and wrk runs
// read into numbers.

export { freePort } from "../_test/_process.ts";

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
