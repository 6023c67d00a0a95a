/**
 * Composition: middlewares over fetch handlers, so Pesto apps, Hono apps
 * and any other `(request) => Response` function plug into one another.
 *
 * - {@linkcode Middleware} is `(next) => fetchHandler`, and
 *   {@linkcode compose} chains them.
 * - {@linkcode mount} serves several apps under path prefixes.
 * - {@linkcode overlay} tries apps in turn until one does not answer 404.
 * - {@linkcode useXForwarded} believes the `X-Forwarded-*` headers of
 *   trusted proxies.
 * - {@linkcode fromFetch} routes a path of a `DispatcherApp` to a fetch
 *   handler.
 * - {@linkcode logger} prints one line per request: method, path, status
 *   and duration.
 *
 * These follow Pesto's `pesto.wsgiutils` (`mount_app`, `overlay`,
 * `use_x_forwarded`) with fetch handlers in place of WSGI apps. A mounted
 * Pesto app sees `scriptName` and `pathInfo` as under Pesto, and its URLs
 * (`route.url()`) include the prefix; any other fetch handler sees the
 * prefix stripped from its URL. Differences: prefixes match whole decoded
 * path segments (`/app` never matches `/apple`), `overlay` returns the last
 * app's own 404 and replays the request body to each app, and
 * `useXForwarded` takes the client address from the right end of
 * `X-Forwarded-For` (the part the trusted proxy added) rather than the
 * whole value.
 *
 * @example Pesto and Hono side by side
 * ```ts
 * import { compose, conditional, DispatcherApp, mount, Response } from "@pesto/pesto";
 * import { Hono } from "hono";
 * import assert from "node:assert/strict";
 *
 * const api = new Hono();
 * api.get("/status", (c) => c.json({ ok: true }));
 * const site = new DispatcherApp();
 * site.match("/", "GET", () => new Response("home"));
 *
 * const fetch = compose(conditional())(mount({ "/api": api, "/": site }));
 * assert.deepEqual(await (await fetch(new Request("http://x.test/api/status"))).json(), { ok: true });
 * assert.equal(await (await fetch(new Request("http://x.test/"))).text(), "home");
 * ```
 *
 * @module
 */
import { hostHeader } from "./_host_header.ts";
import { requestOverrides } from "./_context.ts";
import { isValidHost, parseTarget } from "./_path.ts";
import {
  type AnyFetch,
  cloneRequest,
  deriveRequest,
  fetchOf,
} from "./_compose.ts";
import type { FetchHandler, Handler } from "./core.ts";
import type { Request } from "./request.ts";
import { Response } from "./response.ts";
import { HttpError } from "./_errors.ts";

/**
 * A middleware: takes the next fetch handler and returns one that does
 * something before and/or after it.
 *
 * @example
 * ```ts
 * import type { Middleware } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const poweredBy: Middleware = (next) => async (request, info) => {
 *   const response = await next(request, info);
 *   response.headers.set("X-Powered-By", "Pesto");
 *   return response;
 * };
 * const fetch = poweredBy(() => Promise.resolve(new Response("hi")));
 * assert.equal((await fetch(new Request("http://x.test/"))).headers.get("x-powered-by"), "Pesto");
 * ```
 */
export type Middleware = (next: FetchHandler) => FetchHandler;

/**
 * A fetch handler in the broad sense (one that may answer synchronously,
 * such as Hono's `app.fetch`), or an object with one (a `DispatcherApp`, a
 * Hono app).
 */
export type FetchApp =
  | ((
    request: globalThis.Request,
    info?: Deno.ServeHandlerInfo,
  ) => globalThis.Response | Promise<globalThis.Response>)
  | {
    fetch: (
      request: globalThis.Request,
      info?: Deno.ServeHandlerInfo,
    ) => globalThis.Response | Promise<globalThis.Response>;
  };

/**
 * Chains middlewares into one: `compose(a, b)(handler)` is
 * `a(b(handler))`, so `a` sees the request first and the response last.
 *
 * The result is a {@linkcode Middleware} that also takes any app as its
 * `next`: a `DispatcherApp`, a Hono app, or a fetch handler that answers
 * synchronously.
 *
 * @param middlewares The middlewares, outermost first.
 * @returns One middleware; with none, one that passes requests through.
 *
 * @example
 * ```ts
 * import { compose, type Middleware } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const order: string[] = [];
 * const tag = (name: string): Middleware => (next) => (request, info) => {
 *   order.push(name);
 *   return next(request, info);
 * };
 * const fetch = compose(tag("a"), tag("b"))(() => Promise.resolve(new Response("ok")));
 * await fetch(new Request("http://x.test/"));
 * assert.deepEqual(order, ["a", "b"]);
 * ```
 */
export function compose(
  ...middlewares: Middleware[]
): (next: FetchApp) => FetchHandler {
  for (const [i, middleware] of middlewares.entries()) {
    if (typeof middleware !== "function") {
      throw new TypeError(
        `Cannot compose middleware ${i}: expected a function, got ${typeof middleware}`,
      );
    }
  }
  return (next) =>
    middlewares.reduceRight((inner, m) => m(inner), asFetchHandler(next));
}

/** The fetch handler of an app, always returning a promise. */
function asFetchHandler(app: FetchApp): FetchHandler {
  const fetch = fetchOf(app as AnyFetch);
  return async (request, info) => await fetch(request, info);
}

function badRequest(error: unknown): globalThis.Response {
  return error instanceof HttpError
    ? error.toResponse()
    : new HttpError(400, "Malformed request target").toResponse();
}

/**
 * Serves several apps under path prefixes (Pesto's `mount_app`). The
 * longest prefix that matches whole path segments wins (`/app` matches
 * `/app` and `/app/x`, not `/apple`); `"/"` catches everything else;
 * nothing matching is a 404.
 *
 * The mounted app gets a request whose URL has the prefix stripped, so any
 * fetch handler (Hono, another framework) works unchanged; a Pesto app also
 * sees the full `requestUri`, `scriptName` set to the prefix (added to any
 * it had) and `pathInfo` the rest, so the URLs it builds include the
 * prefix. Prefixes are matched against the decoded canonical path: a
 * malformed target is a 400.
 *
 * @param apps Fetch handlers, or objects with `fetch`, by prefix.
 * @returns A fetch handler.
 * @throws {TypeError} When a prefix does not start with `/`, or an app has
 *   no fetch handler.
 *
 * @example
 * ```ts
 * import { DispatcherApp, mount, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const blog = new DispatcherApp();
 * const post = blog.match("/posts/<id:int>", "GET", (request, { id }): Response =>
 *   new Response(`${request.scriptName} ${request.pathInfo} ${post.url({ id })}`));
 * const fetch = mount({
 *   "/blog": blog,
 *   "/raw": (request) => Promise.resolve(new Response(new URL(request.url).pathname)),
 * });
 * const r = await fetch(new Request("http://x.test/blog/posts/7"));
 * assert.equal(await r.text(), "/blog /posts/7 http://x.test/blog/posts/7");
 * assert.equal(await (await fetch(new Request("http://x.test/raw/a/b"))).text(), "/a/b");
 * assert.equal((await fetch(new Request("http://x.test/other"))).status, 404);
 * ```
 */
export function mount(apps: Record<string, FetchApp>): FetchHandler {
  const mounts = Object.entries(apps).map(([prefix, app]) => {
    if (prefix !== "" && !prefix.startsWith("/")) {
      throw new TypeError(
        `Cannot mount "${prefix}": a prefix must start with "/"`,
      );
    }
    const segments = prefix.split("/").filter((s) => s !== "");
    return { segments, fetch: asFetchHandler(app) };
  }).sort((a, b) => b.segments.length - a.segments.length);

  return async (raw, info) => {
    let target;
    try {
      target = parseTarget(raw.url, hostHeader(raw));
    } catch (error) {
      return badRequest(error);
    }
    const segments = target.segments ??
      target.path.split("/").filter((s) => s !== "");
    for (const entry of mounts) {
      const n = entry.segments.length;
      if (n > segments.length) continue;
      if (!entry.segments.every((s, i) => s === segments[i])) continue;
      if (n === 0) return await entry.fetch(raw, info);
      // The encoded canonical path has one encoded segment per decoded one.
      const encoded = target.path.split("/").filter((s) => s !== "");
      const rest = encoded.slice(n).join("/");
      const path = "/" + rest +
        (target.trailingSlash && rest !== "" ? "/" : "");
      const url = `${target.scheme}://${target.host}${path}${
        target.search ? "?" + target.search : ""
      }`;
      const previous = requestOverrides.get(raw);
      const derived = deriveRequest(raw, url, {
        url: previous?.url ?? raw.url,
        scriptName: (previous?.scriptName ?? "") + "/" +
          entry.segments.join("/"),
      });
      return await entry.fetch(derived, info);
    }
    return Response.notFound();
  };
}

/**
 * Tries apps in turn and returns the first answer that is not a 404
 * (Pesto's `overlay`); when every app answers 404, the last app's 404. Each
 * app but the last gets a copy of the request, so each can read the body.
 *
 * @param apps Fetch handlers, or objects with `fetch`.
 * @returns A fetch handler.
 * @throws {TypeError} When no app is given, or one has no fetch handler.
 *
 * @example
 * ```ts
 * import { DispatcherApp, overlay, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const pages = new DispatcherApp();
 * pages.match("/about", "GET", () => new Response("about"));
 * const fallback = (_: Request) => Promise.resolve(new Response("fallback"));
 * const fetch = overlay(pages, fallback);
 * assert.equal(await (await fetch(new Request("http://x.test/about"))).text(), "about");
 * assert.equal(await (await fetch(new Request("http://x.test/other"))).text(), "fallback");
 * ```
 */
export function overlay(...apps: FetchApp[]): FetchHandler {
  if (apps.length === 0) {
    throw new TypeError("Cannot overlay: give at least one app");
  }
  const fetches = apps.map(asFetchHandler);
  return async (raw, info) => {
    for (let i = 0; i < fetches.length - 1; i++) {
      const response = await fetches[i](cloneRequest(raw), info);
      if (response.status !== 404) {
        raw.body?.cancel().catch(() => {});
        return response;
      }
      response.body?.cancel().catch(() => {});
    }
    return await fetches[fetches.length - 1](raw, info);
  };
}

/** Options of {@linkcode useXForwarded}. */
export interface XForwardedOptions {
  /**
   * The addresses of the proxies whose `X-Forwarded-*` headers are
   * believed. Requests from other peers are passed on unchanged.
   * @default {["127.0.0.1", "::1"]}
   */
  trusted?: Iterable<string>;
}

const PROTO = /^https?$/i;

function lastItem(value: string | null): string | undefined {
  if (value === null) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter((s) => s);
  return items.at(-1);
}

/**
 * Believes the `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto`
 * and `X-Forwarded-Ssl` headers when the request comes from a trusted proxy
 * (Pesto's `use_x_forwarded`). The client address (`request.remoteAddr`,
 * and `info.remoteAddr` for the next handler) is the right-most address of
 * `X-Forwarded-For` that is not itself a trusted proxy; the host and scheme
 * go into the URL the next handler sees, so built URLs and `Secure` session
 * cookies follow them. A malformed forwarded host is a 400; requests from
 * untrusted peers, or without connection info, pass unchanged.
 *
 * @param options The trusted proxy addresses.
 * @returns A {@linkcode Middleware}.
 *
 * @example
 * ```ts
 * import { compose, Response, toHandler, useXForwarded } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = toHandler((request) =>
 *   new Response(`${request.remoteAddr} ${request.requestUri}`));
 * const fetch = compose(useXForwarded({ trusted: ["10.0.0.1"] }))(app);
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "10.0.0.1", port: 4000 },
 *   completed: Promise.resolve(),
 * };
 * const r = await fetch(new Request("http://backend:8000/a", {
 *   headers: {
 *     "X-Forwarded-For": "203.0.113.9",
 *     "X-Forwarded-Host": "example.com",
 *     "X-Forwarded-Proto": "https",
 *   },
 * }), info);
 * assert.equal(await r.text(), "203.0.113.9 https://example.com/a");
 * ```
 */
export function useXForwarded(options: XForwardedOptions = {}): Middleware {
  const trusted = new Set(options.trusted ?? ["127.0.0.1", "::1"]);
  return (next) => async (raw, info) => {
    const peer = (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname;
    if (!info || peer === undefined || !trusted.has(peer)) {
      return next(raw, info);
    }
    const headers = raw.headers;
    const forwardedFor = headers.get("x-forwarded-for");
    const forwardedHost = lastItem(headers.get("x-forwarded-host"));
    const proto = lastItem(headers.get("x-forwarded-proto"));
    const ssl = headers.get("x-forwarded-ssl");
    let client: string | undefined;
    if (forwardedFor !== null) {
      const chain = forwardedFor.split(",").map((s) => s.trim()).filter((s) =>
        s
      );
      for (let i = chain.length - 1; i >= 0; i--) {
        client = chain[i];
        if (!trusted.has(client)) break;
      }
    }
    let scheme: string | undefined;
    if (proto !== undefined && PROTO.test(proto)) scheme = proto.toLowerCase();
    else if (ssl !== null && /^on$/i.test(ssl.trim())) scheme = "https";
    if (forwardedHost !== undefined && !isValidHost(forwardedHost)) {
      return new HttpError(400, "Malformed X-Forwarded-Host header")
        .toResponse();
    }
    let request = raw;
    if (forwardedHost !== undefined || scheme !== undefined) {
      const rewrite = (text: string) => {
        const url = new URL(text);
        if (scheme) url.protocol = scheme + ":";
        if (forwardedHost) {
          url.host = forwardedHost;
          // The URL setter keeps the old port when the new host has none.
          if (!/:\d+$/.test(forwardedHost)) url.port = "";
        }
        return url.href;
      };
      let url: string;
      try {
        url = rewrite(raw.url);
      } catch (error) {
        return badRequest(error);
      }
      const previous = requestOverrides.get(raw);
      const newHeaders = new Headers(headers);
      if (forwardedHost) newHeaders.set("host", forwardedHost);
      request = deriveRequest(
        raw,
        url,
        previous?.url
          ? { url: rewrite(previous.url), host: forwardedHost ?? previous.host }
          : undefined,
        { headers: newHeaders },
      );
    }
    const nextInfo = client === undefined ? info : {
      ...info,
      remoteAddr: { transport: "tcp" as const, hostname: client, port: 0 },
    };
    return await next(request, nextInfo);
  };
}

/**
 * A Pesto handler that passes the request on to a fetch handler, so a
 * `DispatcherApp` route can lead to a Hono app, a {@linkcode mount}, or any
 * other fetch handler. The fetch handler gets the web request as it reached
 * the `DispatcherApp` (a mounted Pesto app still sees its script name).
 *
 * @param app A fetch handler, or an object with `fetch`.
 * @returns A handler for `app.match()`.
 * @throws {TypeError} When `app` has no fetch handler.
 *
 * @example Route a prefix of a DispatcherApp to a Hono app
 * ```ts
 * import { DispatcherApp, fromFetch, mount, Response } from "@pesto/pesto";
 * import { Hono } from "hono";
 * import assert from "node:assert/strict";
 *
 * const hono = new Hono().get("/hello/:name", (c) => c.text(`hello ${c.req.param("name")}`));
 * const app = new DispatcherApp();
 * app.match("/", "GET", () => new Response("home"));
 * app.match("/hono/<rest:path>", ["GET", "POST"], fromFetch(mount({ "/hono": hono })));
 * const r = await app.fetch(new Request("http://x.test/hono/hello/ada"));
 * assert.equal(await r.text(), "hello ada");
 * ```
 */
export function fromFetch(app: FetchApp): Handler {
  const fetch = asFetchHandler(app);
  return (request: Request) => fetch(request.raw);
}

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
export function logger(options: LoggerOptions = {}): Middleware {
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
  return (next) => async (request, info) => {
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
  };
}
