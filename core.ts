/**
 * The core of Pesto: a handler is a plain function from a
 * {@linkcode Request} to a {@linkcode Response}, and {@linkcode toHandler}
 * (Pesto's `to_wsgi`) turns it into a fetch handler for `Deno.serve`.
 *
 * What a handler throws is mapped to a response: an {@linkcode HttpError}
 * becomes its own response (a malformed request is a 400, a body over a
 * limit a 413), and anything else becomes a 500 with a generic page, logged
 * with its stack on the server, while the server keeps serving.
 *
 * @example
 * ```ts
 * import { Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const fetch = toHandler((request) =>
 *   new Response(`<h1>Hello, ${request.query.get("name") ?? "world"}</h1>`)
 * );
 * const response = await fetch(new Request("http://localhost/?name=Ada"));
 * assert.equal(await response.text(), "<h1>Hello, Ada</h1>");
 * ```
 *
 * @module
 */
import { hostHeader } from "./_host_header.ts";
import { internals, requestContext } from "./_context.ts";
import { HttpError } from "./_errors.ts";
import { runHandler, settle } from "./_run.ts";
import { isValidHost } from "./_path.ts";
import type { Request, RequestLimits } from "./request.ts";
// Loaded for its side effect too: it fills in `internals.served`.
import "./request.ts";
import type { Response } from "./response.ts";

export { HttpError, HttpRedirect, MethodNotAllowed } from "./_errors.ts";
export { errorResponse } from "./_run.ts";
export type { HttpErrorOptions } from "./_errors.ts";

/** What a handler may return. */
export type HandlerResult =
  | Response
  | globalThis.Response
  | Promise<Response | globalThis.Response>;

/**
 * A Pesto handler: takes a {@linkcode Request} (and, when routed, the URL
 * parameters) and returns a response.
 */
// deno-lint-ignore no-explicit-any
export type Handler<A extends any[] = any[]> = (
  request: Request,
  ...args: A
) => HandlerResult;

/** A fetch handler, as `Deno.serve` takes it. */
export type FetchHandler = (
  request: globalThis.Request,
  info?: Deno.ServeHandlerInfo,
) => Promise<globalThis.Response>;

/** Options of {@linkcode toHandler}. */
export interface ToHandlerOptions {
  /** Limits on request bodies; missing ones take the defaults. */
  limits?: RequestLimits;
  /**
   * Put the error and its stack in the body of a 500 (for development only).
   * @default {false}
   */
  debug?: boolean;
  /**
   * Called with every error that becomes a 500, instead of `console.error`.
   */
  onError?: (error: unknown, request: Request) => void;
}

/**
 * Turns a handler into a fetch handler (Pesto's `to_wsgi`). The handler
 * runs with its request as {@linkcode currentRequest}; a malformed `Host` is
 * answered 400 before it runs.
 *
 * @param handler The handler.
 * @param options Limits and error reporting.
 * @returns A fetch handler for `Deno.serve` or any fetch-based code.
 *
 * @example
 * ```ts
 * import { HttpError, Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const fetch = toHandler((request) => {
 *   if (!request.query.has("id")) throw new HttpError(400, "Missing id");
 *   return new Response("ok");
 * });
 * const response = await fetch(new Request("http://localhost/"));
 * assert.equal(response.status, 400);
 * assert.equal(await response.text(), "Missing id\n");
 * ```
 */
export function toHandler(
  handler: Handler<[]>,
  options: ToHandlerOptions = {},
): FetchHandler {
  const limits = options.limits;
  return (raw, info) => {
    const host = hostHeader(raw);
    if (host !== null && host !== "" && !isValidHost(host)) {
      return Promise.resolve(
        new HttpError(400, "Malformed Host header").toResponse(),
      );
    }
    const request = internals.served(raw, { limits, info }, host);
    return settle(runHandler(handler, request, options), info, raw);
  };
}

/**
 * The request being handled in this async context (Pesto's
 * `currentrequest()`): it follows the handler across `await`s and is never
 * another concurrent request's.
 *
 * @returns The request, or `undefined` outside a handler.
 *
 * @example
 * ```ts
 * import { currentRequest, Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(currentRequest(), undefined);
 * const fetch = toHandler(async () => {
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   return new Response(currentRequest()?.pathInfo);
 * });
 * assert.equal(await (await fetch(new Request("http://localhost/here"))).text(), "/here");
 * ```
 */
export function currentRequest(): Request | undefined {
  return requestContext.getStore();
}

/** Something {@linkcode serve} can serve: an app with `fetch`, or a handler. */
export type Servable = { fetch: FetchHandler } | Handler<[]>;

/**
 * Options of {@linkcode serve}: those of `Deno.serve` (but `onError`, which
 * is `toHandler`'s: Pesto maps handler errors itself), and `toHandler`'s.
 */
export type ServeOptions =
  & Omit<Partial<Deno.ServeTcpOptions>, "onError">
  & ToHandlerOptions;

/**
 * Serves an app or a handler with `Deno.serve` and returns the server. A
 * plain handler goes through {@linkcode toHandler} first. The port defaults
 * to the `PORT` environment variable (when readable), else 8080.
 *
 * Once listening, it logs one line with an address to open, such as
 * `Pesto listening on http://localhost:8080/ (all interfaces)`; pass
 * `onListen` to log something else, or `onListen() {}` to log nothing.
 *
 * @param app A `DispatcherApp` (or anything with a `fetch`), or a handler.
 * @param options `Deno.serve` options (`port`, `hostname`, `signal`,
 *   `onListen`, ...) and `toHandler` options.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 *
 * @example
 * ```ts
 * import { Response, serve } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const server = serve(() => new Response("hi"), { port: 0, onListen() {} });
 * const { port } = server.addr as Deno.NetAddr;
 * assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "hi");
 * await server.shutdown();
 * ```
 */
export function serve(
  app: Servable,
  options: ServeOptions = {},
): Deno.HttpServer<Deno.NetAddr> {
  const { limits, debug, onError, ...serveOptions } = options;
  const fetch = typeof app === "function"
    ? toHandler(app, { limits, debug, onError })
    : app.fetch;
  const tls = "cert" in serveOptions && serveOptions.cert !== undefined;
  return Deno.serve({
    port: defaultPort(),
    onListen: (addr) => console.log(listeningLine(addr, tls)),
    ...serveOptions,
  }, fetch);
}

/** The start line of {@linkcode serve}: an address a browser can open. */
function listeningLine(addr: Deno.NetAddr, tls: boolean): string {
  const scheme = tls ? "https" : "http";
  const wildcard = addr.hostname === "0.0.0.0" || addr.hostname === "::";
  const host = wildcard
    ? "localhost"
    : addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `Pesto listening on ${scheme}://${host}:${addr.port}/${
    wildcard ? " (all interfaces)" : ""
  }`;
}

function defaultPort(): number {
  try {
    const port = Deno.env.get("PORT");
    if (port && /^\d+$/.test(port)) return Number(port);
  } catch { /* no --allow-env: use the default */ }
  return 8080;
}
