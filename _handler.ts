// The two kinds of function, and the only place that tells them apart.
//
// A Pesto handler takes a Pesto `Request` (and, when routed, the params); a
// fetch handler takes a web `Request` (and the connection info). Both are
// plain functions, so nothing can tell them apart by looking at one. What
// can be seen is the kind of request a function is called with, and whether
// the library made it:
//
// - Every fetch handler the library makes (`toHandler`'s, `app.fetch`,
//   `compose`'s, `mount`'s, `overlay`'s, every middleware's) is a
//   `fetchEntry`: called with a Pesto `Request` it goes on with the web
//   request inside it (and that request's record).
// - Every handler the library makes (`serveStatic`'s, `withEtag`'s, ...) is
//   a `handlerEntry`: called with a web request it answers as `toHandler`
//   would.
// - Both are marked, so each place that takes either kind knows.
// - A function the library did not make is taken as the kind of its place
//   (a fetch handler in `mount`, `overlay`, `compose`; a handler in
//   `toHandler`, routes, `TestApp`, `serve`). Its first call is watched:
//   reading a member of the other kind's request throws an error that names
//   the fix, and so does returning something that is not a response.
//
// The fetch entry also owns the request's lifetime: the first entry a
// request reaches runs what waits for its response to be sent (`afterSent`).
import { requestContext } from "./_runtime/async_context.ts";
import { releaseSentBody } from "./_runtime/sent_body.ts";
import { noteServerRequest } from "./_runtime/served_request.ts";
import { isValidHost } from "./_http/path.ts";
import { HttpError } from "./_message/errors.ts";
import { cancelUnreadBody } from "./_message/body.ts";
import type { RequestLimits } from "./_message/limits.ts";
import {
  ensureRecord,
  hostOf,
  recordOf,
  type RequestRecord,
  responseKnown,
  runRequestCleanups,
} from "./_message/record.ts";
import { Request } from "./_message/request.ts";
import { kCloned, kClose, Response } from "./_message/response.ts";

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

/**
 * A function the library made: called with a web `Request` it is a
 * {@linkcode FetchHandler}, called with a Pesto {@linkcode Request} a
 * {@linkcode Handler}. It works in every place that takes either.
 */
export interface DualHandler {
  /** Called as a handler. */
  // deno-lint-ignore no-explicit-any
  (request: Request, ...args: any[]): HandlerResult;
  /** Called as a fetch handler. */
  (
    request: globalThis.Request,
    info?: Deno.ServeHandlerInfo,
  ): Promise<globalThis.Response>;
}

/**
 * Something at the fetch level: a fetch handler in the broad sense (one that
 * may answer synchronously, such as Hono's `app.fetch`), or an object with
 * one (a `DispatcherApp`, a Hono app, `{ fetch }`).
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
 * Not a value to pass: it stands beside {@linkcode FetchApp} in the
 * parameters that take a fetch handler (`mount`, `overlay`, `compose`, a
 * middleware's `next`) so that a type error names the fix for a Pesto
 * handler given there: wrap it with `toHandler(handler)`.
 */
export interface PestoHandlerNeedsToHandler {
  /** The fix. */
  readonly "wrap a Pesto handler with toHandler(handler)": true;
}

/**
 * Not a value to pass: it stands beside {@linkcode Handler} in the
 * parameters that take a handler (`toHandler`, routes, `TestApp`, `serve`)
 * so that a type error names the fix for a fetch handler given there: route
 * it with `fromFetch(handler)`, or give it as `{ fetch: handler }`.
 */
export interface FetchHandlerNeedsFromFetch {
  /** The fix. */
  readonly "route a fetch handler with fromFetch(handler) or pass { fetch: handler }":
    true;
}

/**
 * Wraps a handler and returns one like it: route `decorators: [a, b]` route
 * `a(b(handler))`, and `withEtag(...)` makes one.
 */
// deno-lint-ignore no-explicit-any
export type Decorator = <A extends any[]>(handler: Handler<A>) => Handler<A>;

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
 * A {@linkcode Middleware} the library makes: it takes any
 * {@linkcode FetchApp} as its `next` (a `DispatcherApp`, a Hono app, a fetch
 * handler that answers synchronously), and what it returns works as a
 * handler too ({@linkcode DualHandler}).
 */
export type DualMiddleware = (
  next: FetchApp | PestoHandlerNeedsToHandler,
) => DualHandler;

/**
 * Something {@linkcode serve} and `TestApp` can run: an object with a
 * `fetch` method (a `DispatcherApp`, a Hono app, `{ fetch: handler }`), or
 * a handler (a function the library made is both).
 */
export type Servable =
  | {
    fetch: (
      request: globalThis.Request,
      info?: Deno.ServeHandlerInfo,
    ) => globalThis.Response | Promise<globalThis.Response>;
  }
  | Handler<[]>;

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
  /**
   * Renders the error responses the library makes (400, 404, 405, 408,
   * 411, 413, 500) and those of the `HttpError`s handlers throw, from the
   * error and the request: return a response (it is sent with the error's
   * status and headers, a 405 keeping its `Allow`), or `undefined` for the
   * generic page. When it throws, the generic page is sent (and the error
   * logged). Redirects are never rendered.
   * @default {undefined} (the generic pages)
   */
  errorPage?: ErrorPage;
}

/** Renders an error page: see {@linkcode ToHandlerOptions.errorPage}. */
export type ErrorPage = (
  error: HttpError,
  request: Request,
) =>
  | Response
  | globalThis.Response
  | undefined
  | Promise<Response | globalThis.Response | undefined>;

// ---------------------------------------------------------------------------
// Marks

const kMade = Symbol("pesto.made");

function made<F extends object>(fn: F): F {
  (fn as { [kMade]?: true })[kMade] = true;
  return fn;
}

/** Whether `value` is a function the library made (it takes both kinds). */
export function isMade(value: unknown): boolean {
  return typeof value === "function" &&
    (value as { [kMade]?: true })[kMade] === true;
}

// ---------------------------------------------------------------------------
// The fetch entry

/** What a fetch entry does once it has the web request and its record. */
export type EntryImpl = (
  raw: globalThis.Request,
  info: Deno.ServeHandlerInfo | undefined,
  record: RequestRecord,
) => globalThis.Response | Promise<globalThis.Response>;

/**
 * A fetch handler the library makes. Called with a Pesto `Request`, it
 * goes on with the web request inside it. The first entry a request
 * reaches runs what waits for the response to be sent; inner ones leave it.
 */
export function fetchEntry(impl: EntryImpl): DualHandler {
  const entry = (
    request: globalThis.Request | Request,
    info?: unknown,
  ): Promise<globalThis.Response> => {
    let raw: globalThis.Request;
    let record: RequestRecord | undefined;
    let served: Deno.ServeHandlerInfo | undefined;
    if (request instanceof Request) {
      raw = request.raw;
      record = ensureRecord(raw);
      served = record.info;
    } else {
      raw = request;
      served = info as Deno.ServeHandlerInfo | undefined;
      record = recordOf(raw);
      if (record === undefined) record = newRecord(raw, served);
      else if (served === undefined) served = record.info;
      else if (record.info === undefined) record.info = served;
    }
    if (record.owned) return Promise.resolve(impl(raw, served, record));
    record.owned = true;
    let result;
    try {
      result = impl(raw, served, record);
    } catch (error) {
      failedEntry(record, raw);
      throw error;
    }
    return settle(result, record, raw);
  };
  return made(entry) as DualHandler;
}

function newRecord(
  raw: globalThis.Request,
  info: Deno.ServeHandlerInfo | undefined,
): RequestRecord {
  // A request handed over with the server's info: the fast path learns the
  // runtime's record from the first one.
  noteServerRequest(raw, info);
  return ensureRecord(raw, info);
}

/** Hands a response back, running `afterSent` once it is known. */
function settle(
  result: globalThis.Response | Promise<globalThis.Response>,
  record: RequestRecord,
  raw: globalThis.Request,
): Promise<globalThis.Response> {
  if (result instanceof globalThis.Response) {
    afterSent(result, record, raw);
    return Promise.resolve(result);
  }
  return Promise.resolve(result).then((response) => {
    if (!(response instanceof globalThis.Response)) {
      throw notAResponse("A fetch handler", response, FETCH_FIX);
    }
    afterSent(response, record, raw);
    return response;
  }, (error) => {
    failedEntry(record, raw);
    throw error;
  });
}

/** Whether the request has cleanups waiting for its response. */
function cleanupsPending(
  raw: globalThis.Request,
  record: RequestRecord,
): boolean {
  return raw.method !== "GET" && raw.method !== "HEAD" &&
    responseKnown(record);
}

/** No response will come: the cleanups run on the next turn. */
function failedEntry(record: RequestRecord, raw: globalThis.Request): void {
  if (cleanupsPending(raw, record)) {
    setTimeout(() => void runRequestCleanups(record), 0);
  }
}

/**
 * Runs what waits for the response to be sent: the `onClose` callbacks of a
 * response without a body, the request's cleanups, and the release of the
 * runtime's copy of a byte body (see `_runtime/sent_body.ts`); and hands
 * the unread body of a redirected or refused request back to the server.
 * It runs
 * through `Deno.serve`'s `completed` promise when there is one (it settles
 * when the response is sent or the client went away), else on the next turn
 * of the event loop.
 */
function afterSent(
  response: globalThis.Response,
  record: RequestRecord,
  raw: globalThis.Request,
): void {
  const close = (response as { [kClose]?: (() => Promise<void>) | true })[
    kClose
  ];
  // Deno.serve keeps a request's headers readable after the response only
  // when they were read before it (Pesto reads Host without that); onClose
  // callbacks run afterwards and may read them.
  if (close !== undefined) void raw.headers;
  // A body left unread by a redirect or an error: handed back to the
  // server, it is read and dropped, and the client gets the answer. (A 2xx
  // answer may still be reading it: streaming it back, say.)
  if (response.status >= 300) cancelUnreadBody(raw);
  const cleanup = cleanupsPending(raw, record);
  const info = record.info;
  // A web response may have been cloned unseen, and a clone shares the
  // runtime's bytes: only a Pesto response never cloned (up to the moment it
  // was sent) is released.
  if (info !== undefined && response instanceof Response) {
    releaseSentBody(response, info, neverCloned);
  }
  if (close === undefined && !cleanup) return;
  const run = () => {
    if (typeof close === "function") void close();
    if (cleanup) void runRequestCleanups(record);
  };
  // Deno makes `completed` on first access: touch it only when needed.
  const completed = info?.completed;
  if (completed) completed.then(run, run);
  else setTimeout(run, 0);
}

/**
 * A middleware the library makes: `make(next)` gives what the fetch entry
 * does, `next` being the next app as a fetch handler.
 */
export function middlewareEntry(
  make: (next: FetchHandler) => EntryImpl,
  what: string,
): DualMiddleware {
  return (next) => fetchEntry(make(asFetch(next, what)));
}

function neverCloned(response: globalThis.Response): boolean {
  return (response as Response)[kCloned] !== true;
}

// ---------------------------------------------------------------------------
// Handlers

/**
 * A handler the library makes: called with a web request, it answers as
 * `toHandler(handler)` would.
 */
export function handlerEntry<A extends unknown[]>(
  handler: (request: Request, ...args: A) => HandlerResult,
): DualHandler {
  let fetch: DualHandler | undefined;
  const dual = (
    request: Request | globalThis.Request,
    ...args: unknown[]
  ): HandlerResult => {
    if (request instanceof Request) return handler(request, ...args as A);
    fetch ??= toHandler(dual as unknown as Handler<[]>);
    return fetch(request, args[0] as Deno.ServeHandlerInfo | undefined);
  };
  return made(dual) as DualHandler;
}

/**
 * A handler given to a function the library makes (a decorator such as
 * `noCache`): one the library made as it is, a user's with its first call
 * watched.
 */
export function asHandler<A extends unknown[]>(
  handler: (request: Request, ...args: A) => HandlerResult,
): (request: Request, ...args: A) => HandlerResult {
  if (isMade(handler)) return handler;
  let first = true;
  return (request, ...args) => {
    if (!first) return handler(request, ...args);
    first = false;
    return watchFirstCall(handler as Handler<unknown[]>, request, args);
  };
}

/**
 * Turns a handler into a fetch handler (Pesto's `to_wsgi`). The handler
 * runs with its request as `currentRequest()`; a malformed `Host` is
 * answered 400 before it runs.
 *
 * @param handler The handler.
 * @param options Limits and error reporting.
 * @returns A fetch handler for `Deno.serve` or any fetch-based code, which
 *   also works where a handler is taken.
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
  handler: Handler<[]> | FetchHandlerNeedsFromFetch,
  options: ToHandlerOptions = {},
): DualHandler {
  if (typeof handler !== "function") {
    throw new TypeError(
      `Cannot make a fetch handler: expected a handler function, got ${
        describe(handler)
      }`,
    );
  }
  const run = asHandler(handler as Handler<[]>);
  return pestoEntry(options, (request) => runHandler(run, request, options));
}

/**
 * The fetch entry of a Pesto app: `run` gets the Pesto `Request`, unless
 * the `Host` is malformed (a 400, rendered by `errorPage` when set).
 */
export function pestoEntry(
  options: ToHandlerOptions,
  run: (request: Request) => globalThis.Response | Promise<globalThis.Response>,
): DualHandler {
  return fetchEntry((raw, info, record) => {
    const host = hostOf(raw, record);
    const request = new Request(raw, { limits: options.limits, info });
    if (host !== null && host !== "" && !isValidHost(host)) {
      return malformedHost(request, options);
    }
    return run(request);
  });
}

/** The answer to a malformed `Host` header (an error page, when set). */
function malformedHost(
  request: Request,
  options: ToHandlerOptions,
): globalThis.Response | Promise<globalThis.Response> {
  const error = new HttpError(400, "Malformed Host header");
  if (!options.errorPage) return error.toResponse();
  return failed(error, request, options);
}

// ---------------------------------------------------------------------------
// Running a handler and mapping what it throws

/**
 * Runs `handler` as the current request's handler and maps what it throws;
 * never throws or rejects. A handler that answers synchronously gets its
 * response back synchronously (no promise to wait for). The request's async
 * context is entered once, and error responses are built inside it too (a
 * relative redirect needs it).
 */
export function runHandler(
  handler: Handler<[]>,
  request: Request,
  options: ToHandlerOptions = {},
): globalThis.Response | Promise<globalThis.Response> {
  let result: unknown;
  try {
    result = requestContext.run(request, handler);
  } catch (error) {
    return failed(error, request, options);
  }
  if (result instanceof globalThis.Response) return result;
  return Promise.resolve(result).then(
    (value): globalThis.Response | Promise<globalThis.Response> =>
      value instanceof globalThis.Response
        ? value
        : failed(notAResponse("Handler", value, HANDLER_FIX), request, options),
    (error) => failed(error, request, options),
  );
}

const HANDLER_FIX =
  "return a Response; a fetch handler (one that takes a web Request) goes in { fetch: handler } or fromFetch(handler)";
const FETCH_FIX =
  "return a Response; a Pesto handler (one that takes a Pesto Request) goes in toHandler(handler)";

function notAResponse(who: string, value: unknown, fix: string): TypeError {
  return new TypeError(
    `${who} returned ${describe(value)} instead of a Response: ${fix}`,
  );
}

function failed(
  error: unknown,
  request: Request,
  options: ToHandlerOptions,
): globalThis.Response | Promise<globalThis.Response> {
  return requestContext.run(request, () => {
    let generic: Response;
    let cause = error;
    try {
      generic = errorResponse(error, request, options);
    } catch (inner) {
      // The error's own response could not be built (a bad redirect target).
      cause = inner;
      try {
        generic = errorResponse(inner, request, options);
      } catch {
        generic = Response.internalServerError();
      }
    }
    const page = options.errorPage;
    if (page === undefined || generic.status < 400) return generic;
    return renderErrorPage(page, httpErrorOf(cause, generic), request, generic);
  });
}

/** The `HttpError` an error page is given for what was thrown. */
function httpErrorOf(thrown: unknown, generic: Response): HttpError {
  if (thrown instanceof HttpError && thrown.status === generic.status) {
    return thrown;
  }
  return new HttpError(generic.status, undefined, { cause: thrown });
}

/**
 * The error page for `error`, sent with the error's status and headers; the
 * generic response when the page gives none or fails.
 */
export function renderErrorPage(
  page: ErrorPage,
  error: HttpError,
  request: Request,
  generic: Response,
): globalThis.Response | Promise<globalThis.Response> {
  const fallBack = (cause: unknown): Response => {
    // A page that reads what a malformed request lacks (its URL, for a bad
    // Host) fails on the client's account: no log line for each of those.
    if (!(cause instanceof HttpError)) {
      console.error("Error while rendering the error page:", cause);
    }
    return generic;
  };
  let result;
  try {
    result = page(error, request);
  } catch (cause) {
    return fallBack(cause);
  }
  const settle = (value: unknown): globalThis.Response => {
    if (value === undefined) return generic;
    if (!(value instanceof globalThis.Response)) {
      return fallBack(
        notAResponse("The error page", value, "return a Response"),
      );
    }
    generic.body?.cancel().catch(() => {});
    return withErrorStatus(value, error);
  };
  if (!(result instanceof Promise)) return settle(result);
  return result.then(settle, fallBack);
}

/** `response` with `error`'s status, and its headers where it has none. */
function withErrorStatus(
  response: globalThis.Response,
  error: HttpError,
): globalThis.Response {
  const missing: [string, string][] = [];
  error.headers.forEach((value, name) => {
    if (!response.headers.has(name)) missing.push([name, value]);
  });
  if (response.status === error.status && missing.length === 0) {
    return response;
  }
  const headers = new Headers(response.headers);
  for (const [name, value] of missing) headers.set(name, value);
  if (response instanceof Response) {
    return response.replace({ status: error.status, headers });
  }
  return new globalThis.Response(response.body, {
    status: error.status,
    headers,
  });
}

/**
 * The response for an error thrown by a handler: an {@linkcode HttpError}'s
 * own response, or a generic 500 (logged with its stack).
 *
 * @param error What was thrown.
 * @param request The request being handled.
 * @param options `debug` and `onError`.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * import { errorResponse, HttpError, Request } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const request = new Request(new globalThis.Request("http://localhost/"));
 * assert.equal(errorResponse(new HttpError(404), request).status, 404);
 * const quiet = { onError: () => {} };
 * const r = errorResponse(new Error("secret detail"), request, quiet);
 * assert.equal(r.status, 500);
 * assert.doesNotMatch(await r.text(), /secret/);
 * ```
 */
export function errorResponse(
  error: unknown,
  request: Request,
  options: ToHandlerOptions = {},
): Response {
  if (error instanceof HttpError) return error.toResponse();
  if (options.onError) options.onError(error, request);
  else {
    let where = "";
    try {
      where = ` ${request.method} ${request.requestUri}`;
    } catch { /* a malformed target: say nothing more */ }
    console.error(`Error while handling${where}:`, error);
  }
  if (!options.debug) return Response.internalServerError();
  const detail = error instanceof Error
    ? error.stack ?? String(error)
    : String(error);
  return new Response(detail, { status: 500, contentType: "text/plain" });
}

// ---------------------------------------------------------------------------
// Places: what each kind of place makes of a function

/**
 * The fetch handler of an app given where fetch handlers go (`mount`,
 * `overlay`, `compose`): a function the library made, or one of the
 * user's, whose first call is watched and whose answers are checked.
 *
 * @param app A fetch handler, or an object with `fetch`.
 * @param what What takes it, for the error message.
 */
export function asFetch(
  given: FetchApp | PestoHandlerNeedsToHandler,
  what: string,
): FetchHandler {
  const app = given as FetchApp;
  if (typeof app === "function") {
    return isMade(app) ? app as FetchHandler : userFetch(app);
  }
  if (app !== null && typeof app === "object" && "fetch" in app) {
    const fetch = app.fetch;
    if (isMade(fetch)) return fetch as FetchHandler;
    if (typeof fetch === "function") {
      return userFetch((request, info) => app.fetch(request, info));
    }
  }
  throw new TypeError(
    `Cannot use ${what}: expected a fetch handler or an object with a fetch method, got ${
      describe(app)
    }`,
  );
}

/**
 * The fetch handler of something `serve` or `TestApp` runs: an app's
 * `fetch`, a function the library made, or a user's handler through
 * `toHandler`.
 *
 * @param app What to run.
 * @param options `toHandler`'s options, for a handler.
 * @param what What takes it, for the error message.
 */
export function servableFetch(
  app: Servable | FetchHandlerNeedsFromFetch,
  options: ToHandlerOptions,
  what: string,
): FetchHandler {
  if (typeof app === "function" && !isMade(app)) {
    return toHandler(app as Handler<[]>, options);
  }
  return asFetch(app as FetchApp, what);
}

/** A user's fetch handler: its first call watched, its answers checked. */
function userFetch(
  fetch: (
    request: globalThis.Request,
    info?: Deno.ServeHandlerInfo,
  ) => globalThis.Response | Promise<globalThis.Response>,
): FetchHandler {
  let first = true;
  return async (request, info) => {
    let response: unknown;
    if (first) {
      first = false;
      response = await watchFirstFetch(fetch, request, info);
    } else response = await fetch(request, info);
    if (!(response instanceof globalThis.Response)) {
      throw notAResponse("A fetch handler", response, FETCH_FIX);
    }
    return response;
  };
}

/**
 * The Pesto `Request` members a web request lacks: a fetch handler never
 * reads them, a Pesto handler given a web request does. (`referrer` is not
 * one: the web request has it too, and `new Request(url, request)` reads it
 * as a `RequestInit`.)
 */
const PESTO_ONLY = [
  "query",
  "form",
  "files",
  "get",
  "getAll",
  "cookies",
  "scriptName",
  "pathInfo",
  "requestPath",
  "requestUri",
  "applicationUri",
  "makeUri",
  "remoteAddr",
  "userAgent",
  "contentType",
  "charset",
  "session",
  "getHeader",
  "raw",
  "limits",
  "scheme",
  "encodedPath",
  "pathSegments",
  "vars",
] as const;

/**
 * The web `Request` members a Pesto `Request` lacks (and the string methods
 * its `url`, a `URL`, lacks): a handler never reads them, a fetch handler
 * given a Pesto `Request` does.
 */
const WEB_ONLY = [
  "clone",
  "formData",
  "arrayBuffer",
  "blob",
  "body",
  "bodyUsed",
  "signal",
  "cache",
  "credentials",
  "destination",
  "integrity",
  "mode",
  "redirect",
  "referrerPolicy",
  "keepalive",
] as const;
const STRING_ONLY = [
  "indexOf",
  "lastIndexOf",
  "charAt",
  "charCodeAt",
  "codePointAt",
  "startsWith",
  "endsWith",
  "includes",
  "slice",
  "substring",
  "split",
  "match",
  "replace",
  "at",
  "trim",
] as const;

/** Calls a user's fetch handler with `request` watched for Pesto reads. */
function watchFirstFetch(
  fetch: (
    request: globalThis.Request,
    info?: Deno.ServeHandlerInfo,
  ) => globalThis.Response | Promise<globalThis.Response>,
  request: globalThis.Request,
  info: Deno.ServeHandlerInfo | undefined,
): Promise<unknown> {
  const names = watch(request, PESTO_ONLY, (name) =>
    new TypeError(
      `Cannot read request.${name}: a fetch handler was given a web Request. If this function is a Pesto handler (it takes a Pesto Request), wrap it with toHandler(handler)`,
    ));
  return Promise.resolve()
    .then(() => fetch(request, info))
    .finally(() => unwatch(request, names));
}

/** Calls a user's handler with `request` watched for web-request reads. */
export function watchFirstCall(
  handler: Handler<unknown[]>,
  request: Request,
  args: unknown[],
): HandlerResult {
  const fix =
    "If this function is a fetch handler (it takes a web Request), pass it as { fetch: handler } or fromFetch(handler)";
  const names = watch(request, WEB_ONLY, (name) =>
    new TypeError(
      `Cannot read request.${name}: a handler was given a Pesto Request. ${fix}`,
    ));
  const url = Object.getOwnPropertyDescriptor(Request.prototype, "url")!;
  Object.defineProperty(request, "url", {
    configurable: true,
    get() {
      const value: URL = url.get!.call(request);
      watch(value, STRING_ONLY, (name) =>
        new TypeError(
          `Cannot call request.url.${name}(): a handler was given a Pesto Request, whose url is a URL. ${fix}`,
        ));
      return value;
    },
  });
  Object.defineProperty(request, Symbol.toPrimitive, {
    configurable: true,
    value() {
      throw new TypeError(
        `Cannot use a Pesto Request as a web Request or a string. ${fix}`,
      );
    },
  });
  const restore = () => {
    unwatch(request, names);
    delete (request as { url?: unknown }).url;
    delete (request as { [Symbol.toPrimitive]?: unknown })[Symbol.toPrimitive];
  };
  let result: HandlerResult;
  try {
    result = handler(request, ...args);
  } catch (error) {
    restore();
    throw error;
  }
  if (result instanceof Promise) return result.finally(restore);
  restore();
  return result;
}

/** Makes reading each of `names` on `target` throw `error(name)`. */
function watch(
  target: object,
  names: readonly string[],
  error: (name: string) => TypeError,
): readonly string[] {
  const watched = names.filter((name) =>
    !Object.prototype.hasOwnProperty.call(target, name)
  );
  for (const name of watched) {
    Object.defineProperty(target, name, {
      configurable: true,
      get() {
        throw error(name);
      },
    });
  }
  return watched;
}

function unwatch(target: object, names: readonly string[]): void {
  for (const name of names) delete (target as Record<string, unknown>)[name];
}

/** A short description of a value, for messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return "a function";
  if (typeof value === "object") {
    const name = value.constructor?.name;
    return name ? `a ${name}` : "an object";
  }
  return typeof value;
}
