// Servers in child processes, for the tests and the benchmarks: a free
// port, waiting until one starts, a script run as users run it on a port
// given in PORT (as it is, or bundled into one file by `deno bundle`), a
// server script that prints its port, and examples/parallel.ts under
// `deno serve --parallel`.

/** The project's root, where its deno.json is. */
const root = new URL("..", import.meta.url).pathname;

/** Stops a child process (if it still runs) and waits until it is gone. */
async function end(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill();
  } catch { /* already gone */ }
  await child.status;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Waits until `base + "/"` answers (any status), for at most `timeout` ms;
 * false when it never did.
 */
export async function waitUntilAnswers(
  base: string,
  timeout = 15_000,
): Promise<boolean> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(base + "/");
      await response.body?.cancel();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return false;
}

/**
 * Reads a child's output until a line matches `pattern` or the stream ends,
 * and returns the lines read (the matching one last, if any).
 */
export async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
): Promise<string[]> {
  const lines: string[] = [];
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    lines.push(...parts);
    if (parts.some((line) => pattern.test(line))) break;
  }
  return lines;
}

/** A script run as users run it, from {@linkcode runOnPort}. */
export interface RunningScript {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  base: string;
  /** Its process id. */
  pid: number;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * Runs `script` as users do, `deno run --allow-net --allow-env`, on a free
 * port given in `PORT`, and waits until it answers (at most `timeout` ms).
 * Its standard output is dropped; `stderr` says where its errors go.
 */
export async function runOnPort(
  script: string,
  options: {
    stderr?: "inherit" | "null";
    timeout?: number;
    /** More environment variables for the script. */
    env?: Record<string, string>;
    /** A folder the script may read (`--allow-read`). */
    allowRead?: string;
  } = {},
): Promise<RunningScript> {
  const port = freePort();
  const read = options.allowRead ? [`--allow-read=${options.allowRead}`] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", ...read, script],
    env: { ...options.env, PORT: String(port) },
    stdout: "null",
    stderr: options.stderr ?? "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const stop = () => end(child);
  if (await waitUntilAnswers(base, options.timeout)) {
    return { base, pid: child.pid, stop };
  }
  await stop();
  throw new Error(`${script} did not start on port ${port}`);
}

/**
 * Bundles `script` into one JavaScript file in `outDir` with `deno bundle`,
 * as users may deploy it, and returns that file's path. Throws with the
 * bundler's own message when it fails.
 */
export async function bundle(script: string, outDir: string): Promise<string> {
  const name = script.slice(script.lastIndexOf("/") + 1).replace(/\.ts$/, "");
  const output = `${outDir}/${name}.js`;
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--output", output, script],
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `deno bundle ${script} failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return output;
}

/** A server in a child process, from {@linkcode startPortServer}. */
export interface PortServer {
  /** The port it printed. */
  port: number;
  /** Its process id. */
  pid: number;
  /** The process itself (to send it a signal, or wait for its exit). */
  child: Deno.ChildProcess;
  /** The lines of its standard output so far (the port's among them). */
  out: string[];
  /** The lines of its standard error so far (none when inherited). */
  err: string[];
  /** Stops it (if it still runs) and releases its output. */
  stop(): Promise<void>;
}

/** How {@linkcode startPortServer} runs its script. */
export interface PortServerOptions {
  /** `deno run` flags (permissions among them). */
  flags?: string[];
  /** Arguments after the script. */
  args?: string[];
  /** Environment variables. */
  env?: Record<string, string>;
  /** Where its standard error goes: kept in `err`, or inherited. */
  stderr?: "piped" | "inherit";
  /** How long to wait for the port, in ms. */
  timeout?: number;
}

/**
 * Runs `script` with `deno run` and `flags`, and waits for the port it
 * prints on a line of its own (`8000` or `port 8000`). Its output is kept
 * line by line while it runs.
 */
export async function startPortServer(
  script: string,
  options: PortServerOptions = {},
): Promise<PortServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...options.flags ?? [], script, ...options.args ?? []],
    env: options.env,
    stdout: "piped",
    stderr: options.stderr ?? "inherit",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  let found: (port: number) => void;
  const announced = new Promise<number>((resolve) => found = resolve);
  const reading = Promise.all([
    readLines(child.stdout, out, (line) => {
      const port = /^(?:port )?(\d+)$/.exec(line.trim())?.[1];
      if (port !== undefined) found(Number(port));
    }),
    options.stderr === "piped" ? readLines(child.stderr, err) : undefined,
  ]).catch(() => {});
  const stop = async () => {
    await end(child);
    await reading;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const port = await Promise.race([
    announced,
    reading.then(() => 0), // it ended first
    new Promise<number>((resolve) => {
      timer = setTimeout(() => resolve(0), options.timeout ?? 20_000);
    }),
  ]);
  clearTimeout(timer);
  if (!(port > 0)) {
    await stop();
    throw new Error(
      `${script} did not print its port:\n${[...out, ...err].join("\n")}`,
    );
  }
  return { port, pid: child.pid, child, out, err, stop };
}

/**
 * Reads `stream` to its end as lines of text into `lines`, calling
 * `onLine` with each.
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  onLine?: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let i;
    while ((i = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      lines.push(line);
      onLine?.(line);
    }
  }
  if (buffer) {
    lines.push(buffer);
    onLine?.(buffer);
  }
}

/**
 * The flags that run a script written in `dir` with this repository's
 * import map, reading the repository and `dir`, writing only `writable`
 * (default `dir`).
 */
export function scriptFlags(dir: string, writable = dir): string[] {
  return [
    "--allow-net",
    "--allow-env",
    `--allow-read=${dir},${root}`,
    `--allow-write=${writable}`,
    "--config",
    `${root}deno.json`,
    "--no-lock",
  ];
}

/** `examples/parallel.ts` under `deno serve --parallel`. */
export interface ParallelServer {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  base: string;
  /** What it printed up to its start message. */
  startLines: string[];
  /** Stops it and removes its temporary directory. */
  stop(): Promise<void>;
}

/**
 * Starts `examples/parallel.ts` under `deno serve --parallel` with
 * `workers` workers on a free port, its KV file in a temporary directory,
 * and waits for its start message (30 s at most).
 */
export async function serveParallelExample(
  workers: number,
): Promise<ParallelServer> {
  const dir = await Deno.makeTempDir({ prefix: "pesto-parallel-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--parallel",
      "--allow-net=127.0.0.1",
      "--allow-env",
      `--allow-read=${root},${dir}`,
      `--allow-write=${dir}`,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "examples/parallel.ts",
    ],
    cwd: root,
    env: {
      PESTO_KV_PATH: `${dir}/sessions.kv`,
      DENO_JOBS: String(workers),
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const errors: string[] = [];
  const drained = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      errors.push(chunk);
    }
  })();
  const timer = setTimeout(() => child.kill(), 30_000);
  const startLines = await waitForLine(child.stdout, /listening on/);
  clearTimeout(timer);
  const stop = async () => {
    await end(child);
    await child.stdout.cancel().catch(() => {});
    await drained;
    await Deno.remove(dir, { recursive: true });
  };
  if (!startLines.some((line) => /listening on/.test(line))) {
    await stop();
    throw new Error(`deno serve did not start:\n${errors.join("")}`);
  }
  return { base: `http://127.0.0.1:${port}`, startLines, stop };
}

/** Sends `signal` to the process group `pid` leads (the task and its app). */
function signalGroup(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    if (Deno.build.os === "windows") child.kill(signal);
    else Deno.kill(-child.pid, signal);
  } catch { /* already gone */ }
}

/**
 * Logs in to the notes example at `base` as `demo`; returns the session
 * cookie and the CSRF token (throws without them).
 */
export async function logInToNotes(
  base: string,
): Promise<{ cookie: string; csrf: string }> {
  const r = await fetch(`${base}/login`, {
    method: "POST",
    body: new URLSearchParams({ user: "demo", password: "pesto" }),
    redirect: "manual",
  });
  await r.body?.cancel();
  const cookie = r.headers.get("set-cookie")?.split(";")[0] ?? "";
  const html = await (await fetch(`${base}/`, { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  if (!cookie || !csrf) throw new Error(`cannot log in to ${base}`);
  return { cookie, csrf };
}

/**
 * `deno task notes` run as the README says, with PORT set, in a process
 * group of its own: stopping it stops the app the task runs too (SIGTERM,
 * then SIGKILL after 15 s). Its standard error is kept.
 */
export async function startNotesTask(): Promise<{
  base: string;
  errors: () => string;
  stop: () => Promise<void>;
}> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "notes"],
    cwd: root,
    env: { PORT: String(port), NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
    detached: true,
  }).spawn();
  let errors = "";
  const drained = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) errors += chunk;
  })();
  const stop = async () => {
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 15_000);
    await child.status;
    clearTimeout(timer);
    await drained;
  };
  if (!await waitUntilAnswers(base)) {
    await stop();
    throw new Error(`deno task notes did not start:\n${errors}`);
  }
  return { base, errors: () => errors, stop };
}

/**
 * A `redis-server` without persistence on 127.0.0.1:`port` (unless `args`,
 * put after the defaults, say otherwise), once it accepts connections
 * (`timeout` ms at most, 5 s by default); throws when it cannot be started.
 */
export async function startRedisServer(
  port: number,
  options: { args?: string[]; timeout?: number } = {},
): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      ...options.args ?? [],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + (options.timeout ?? 5_000);
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return child;
    } catch {
      if (Date.now() > deadline) {
        await end(child);
        throw new Error(`redis-server did not start on port ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
