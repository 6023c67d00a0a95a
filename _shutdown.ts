// Graceful shutdown: on SIGTERM or SIGINT a server stops accepting, lets
// the requests in flight finish up to a deadline, then removes what is left
// (temporary upload files), says so in one line and exits 0.
import { removeLeftovers } from "./_message/upload.ts";

/** Options of {@linkcode shutdownOnSignal}. */
export interface ShutdownOptions {
  /**
   * Milliseconds the requests in flight may take to finish after the
   * signal; what is still running then is cut.
   * @default {10000}
   */
  shutdownTimeout?: number;
  /**
   * The signals that shut down. SIGTERM is skipped where the platform has
   * no such signal (Windows).
   * @default {["SIGTERM", "SIGINT"]}
   */
  signals?: Deno.Signal[];
  /**
   * Run once the requests are done (or cut), before the process exits: close
   * what the app opened (a KV handle, a Redis client).
   * @default {undefined}
   */
  onShutdown?: () => void | Promise<void>;
  /**
   * Where the one line about the shutdown goes.
   * @default {console.log}
   */
  log?: (line: string) => void;
}

/**
 * Shuts `server` down gracefully on SIGTERM or SIGINT (what a container
 * runtime or systemd sends, and Ctrl+C): it stops accepting connections,
 * lets requests in flight finish for up to `shutdownTimeout` ms, cuts what
 * is left, removes the temporary files of uploads, runs `onShutdown`, logs
 * one line and exits with status 0. `serve()` does this by itself; call it
 * for a server made with `Deno.serve`.
 *
 * @param server The server, as `Deno.serve` returns it.
 * @param options The deadline, the signals, what to close, where to log.
 * @returns A function that removes the signal listeners again.
 * @throws {RangeError} When `shutdownTimeout` is not a number of ms >= 0.
 *
 * @example
 * ```ts
 * import { Response, shutdownOnSignal } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve({ port: 0, onListen() {} }, () => new Response("hi"));
 * const stop = shutdownOnSignal(server, { shutdownTimeout: 5_000 });
 * assert.equal(typeof stop, "function");
 * stop(); // a test removes the listeners before shutting down by hand
 * await server.shutdown();
 * ```
 */
export function shutdownOnSignal(
  server: Deno.HttpServer,
  options: ShutdownOptions = {},
): () => void {
  const timeout = options.shutdownTimeout ?? 10_000;
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError(
      `Cannot shut down after ${timeout} ms: give a number of ms >= 0`,
    );
  }
  const log = options.log ?? ((line: string) => console.log(line));
  let started = false;
  const onSignal = (signal: Deno.Signal) => {
    if (started) return;
    started = true;
    void shutDown(
      server,
      { ...options, shutdownTimeout: timeout, log },
      signal,
    );
  };
  const listeners: [Deno.Signal, () => void][] = [];
  for (const signal of options.signals ?? ["SIGTERM", "SIGINT"]) {
    const listener = () => onSignal(signal);
    try {
      Deno.addSignalListener(signal, listener);
      listeners.push([signal, listener]);
    } catch (error) {
      // Windows has SIGINT (and SIGBREAK) only.
      if (!(error instanceof TypeError)) throw error;
    }
  }
  return () => {
    for (const [signal, listener] of listeners) {
      Deno.removeSignalListener(signal, listener);
    }
  };
}

async function shutDown(
  server: Deno.HttpServer,
  options: ShutdownOptions & {
    shutdownTimeout: number;
    log: (line: string) => void;
  },
  signal: Deno.Signal,
): Promise<never> {
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"cut">((resolve) => {
    timer = setTimeout(() => resolve("cut"), options.shutdownTimeout);
  });
  const finished = await Promise.race([
    server.shutdown().then(() => "finished" as const),
    deadline,
  ]);
  clearTimeout(timer);
  const removed = removeLeftovers();
  try {
    await options.onShutdown?.();
  } catch (error) {
    console.error("Error while shutting down:", error);
  }
  const ms = Math.round(performance.now() - start);
  options.log(
    `Pesto shut down on ${signal} in ${ms} ms: ${
      finished === "finished"
        ? "every request finished"
        : `requests still running after ${options.shutdownTimeout} ms were cut`
    }${removed ? `, ${removed} temporary upload files removed` : ""}`,
  );
  Deno.exit(0);
}
