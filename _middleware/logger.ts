// `logger()`: one line per request.
import { type DualMiddleware, middlewareEntry } from "../_handler.ts";

/** What {@linkcode logger} knows of a request once its response is ready. */
export interface LogEntry {
  /** The request method. */
  method: string;
  /** The request's path, percent-encoded as in its URL (no query). */
  path: string;
  /** The response status; 500 when the next handler threw. */
  status: number;
  /** Milliseconds from the request to its response headers. */
  durationMs: number;
}

/** Options of {@linkcode logger}. */
export interface LoggerOptions {
  /**
   * Receives each line (`GET /notes/7 200 1.3ms`) and the entry it was
   * made from.
   * @default {console.log} (the line only)
   */
  log?: (line: string, entry: LogEntry) => void;
}

/**
 * A middleware that logs one line per request: method, path, status and
 * the time until the response headers were ready (a streamed body may
 * still be on its way), such as `GET /recipes/toast 200 0.4ms`. The path is
 * the one of the request's URL, where control characters and spaces are
 * percent-encoded, so a client cannot forge log lines. When the next
 * handler throws, the line says 500 and the error goes on.
 *
 * Put it first in {@linkcode compose} to time the whole stack.
 *
 * @param options Where the lines go.
 * @returns The middleware.
 *
 * @example
 * ```ts
 * import { compose, DispatcherApp, logger, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/hello", "GET", () => new Response("hi"));
 * const lines: string[] = [];
 * const fetch = compose(logger({ log: (line) => lines.push(line) }))(app);
 * await fetch(new Request("http://localhost/hello?x=1"));
 * await fetch(new Request("http://localhost/nope", { method: "POST" }));
 * assert.match(lines[0], /^GET \/hello 200 \d+\.\dms$/);
 * assert.match(lines[1], /^POST \/nope 404 \d+\.\dms$/);
 * ```
 */
export function logger(options: LoggerOptions = {}): DualMiddleware {
  const log = options.log ?? ((line: string) => console.log(line));
  const write = (
    request: globalThis.Request,
    status: number,
    start: number,
  ) => {
    const entry: LogEntry = {
      method: request.method,
      path: new URL(request.url).pathname,
      status,
      durationMs: performance.now() - start,
    };
    log(
      `${entry.method} ${entry.path} ${status} ${
        entry.durationMs.toFixed(1)
      }ms`,
      entry,
    );
  };
  return middlewareEntry((next) => async (request, info) => {
    const start = performance.now();
    let response: globalThis.Response;
    try {
      response = await next(request, info);
    } catch (error) {
      write(request, 500, start);
      throw error;
    }
    write(request, response.status, start);
    return response;
  }, "logger()");
}
