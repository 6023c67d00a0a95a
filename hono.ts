/**
 * Hono's middleware in a Pesto app: {@linkcode fromHono} runs any Hono
 * middleware (a `MiddlewareHandler` of `npm:hono`: `cors`, `compress`,
 * `secureHeaders`, `csrf`, `requestId`, `basicAuth`, `bearerAuth`, `jwt`,
 * `timeout`, `bodyLimit`, `etag`, ...) around a Pesto app or handler.
 *
 * It lives in its own subpath, `@pesto/pesto/hono`, so that only the apps
 * that use it load Hono.
 *
 * Python's Pesto promised to work with any WSGI middleware; this is that
 * promise on web standards, where the middleware is Hono's.
 *
 * @example CORS, compression and a request id around a DispatcherApp
 * ```ts
 * import { compose, DispatcherApp, Response } from "@pesto/pesto";
 * import { fromHono } from "@pesto/pesto/hono";
 * import { TestApp } from "@pesto/pesto/testing";
 * import { compress } from "hono/compress";
 * import { cors } from "hono/cors";
 * import { requestId } from "hono/request-id";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/", "GET", (request) =>
 *   new Response(`request ${request.vars.get("requestId")}\n`.repeat(100)));
 *
 * const fetch = compose(
 *   fromHono(cors({ origin: "https://app.example" })),
 *   fromHono(compress()),
 *   fromHono(requestId({ generator: () => "r-1" })),
 * )(app);
 * const r = await new TestApp({ fetch }).get("/", {
 *   headers: { Origin: "https://app.example", "Accept-Encoding": "gzip" },
 * });
 * assert.equal(r.getHeader("access-control-allow-origin"), "https://app.example");
 * assert.equal(r.getHeader("content-encoding"), "gzip");
 * assert.equal(r.getHeader("x-request-id"), "r-1");
 * const gunzipped = new Blob([r.bytes.slice()]).stream()
 *   .pipeThrough(new DecompressionStream("gzip"));
 * assert.equal(await new Response(gunzipped).text(), "request r-1\n".repeat(100));
 * ```
 *
 * @module
 */
import { Context } from "hono";
import { getPath } from "hono/utils/url";
import { HttpError } from "./_message/errors.ts";
import {
  deriveRequest,
  recordOf,
  type RequestRecord,
  sharedOf,
} from "./_message/record.ts";
import { kClose, withHeaders } from "./_message/response.ts";
import {
  describe,
  type FetchApp,
  type FetchHandler,
  middlewareEntry,
} from "./_handler.ts";

export type { FetchApp, FetchHandler } from "./_handler.ts";

/**
 * A Hono middleware: what Hono types as `MiddlewareHandler` (`cors()`,
 * `compress()`, `jwt(...)`, one made with `createMiddleware` of
 * `hono/factory`). It is called with Hono's `Context` and `next`; the
 * context is typed loosely here so that this module's types stand without
 * Hono's.
 */
export type HonoMiddleware = (
  // deno-lint-ignore no-explicit-any
  c: any,
  next: () => Promise<void>,
) => Promise<globalThis.Response | void>;

/**
 * Runs a Hono middleware around a Pesto app or handler: `fromHono(cors())`
 * is a Pesto middleware, for `compose` or called with the next app (a
 * `DispatcherApp`, any fetch handler or object with `fetch`). What it
 * makes is a fetch handler that, like every function the library makes,
 * also takes a Pesto `Request` (a route takes it through `fromFetch()`).
 *
 * The middleware gets a Hono `Context` of its own for each request, and
 * `await next()` runs the Pesto app. What the middleware does not change
 * passes through as it is:
 *
 * - **The request.** The app gets the same web request (so the same
 *   session, body already read, `request.vars` and cleanups). When the
 *   middleware replaces `c.req.raw` (as `bodyLimit` does with a body it had
 *   to read), the app gets that request, sharing all of those; when it read
 *   the body through `c.req` (`c.req.text()`, `c.req.parseBody()`), the
 *   app reads it again from what Hono kept.
 * - **The connection info.** It is Hono's `c.env`, as when Hono runs on
 *   `Deno.serve` (so `getConnInfo` of `hono/deno` works), and the app gets
 *   it unchanged.
 * - **Values.** What the middleware sets with `c.set(key, value)` before it
 *   calls `next()` (the `requestId`, the `jwtPayload`, a user set in
 *   `basicAuth`'s `onAuthSuccess`) is in `request.vars`; values already in
 *   `request.vars` can be read with `c.get(key)` (so a middleware sees what
 *   another `fromHono` before it set).
 * - **The response.** The app's response comes back as it is unless the
 *   middleware changes it. Headers the middleware set with `c.header()`
 *   before calling `next()` are added to it (Hono itself drops them on a
 *   response a handler returns as it is); headers it sets afterwards, and
 *   responses it makes (`c.res = ...`), follow Hono's rules. The app's
 *   `onClose` callbacks run once whatever the middleware made of the
 *   response is sent.
 * - **Errors.** An error the middleware throws that carries its own
 *   response (Hono's `HTTPException`: basic auth's 401, `bodyLimit`'s 413,
 *   `timeout`'s 504) is answered with that response, as Hono answers it.
 *   Any other error, from the middleware or from the app, is thrown on
 *   unchanged; a Pesto app answers its own `HttpError`s itself.
 *
 * Differences from a Hono app: nothing is routed (`c.req.param()` is empty;
 * `c.req.path` is the path of the request's URL, below the prefix under
 * `mount`); a HEAD request reaches the middleware and the app as HEAD (a
 * Hono app routes it as GET); a middleware that neither returns a response
 * nor calls `next()` is an error thrown on. When the middleware answers
 * before the app does (`timeout`), the app's response, once it comes, is
 * cancelled.
 *
 * `compress()` leaves alone a body whose `Content-Length` is under its
 * `threshold` (1 KiB); a Pesto response has no `Content-Length` until it is
 * sent, so a small one is compressed unless it gets one (as
 * `await response.buffered()` gives it), as in a Hono app.
 *
 * @param middleware A Hono middleware.
 * @returns The Pesto middleware.
 * @throws {TypeError} When `middleware` is not a function.
 *
 * @example Basic auth: 401 without credentials, the user in request.vars with them
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import { fromHono } from "@pesto/pesto/hono";
 * import { basicAuth } from "hono/basic-auth";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/admin", "GET", (request) => new Response(`hello ${request.vars.get("user")}`));
 * const fetch = fromHono(basicAuth({
 *   username: "ada",
 *   password: "secret",
 *   onAuthSuccess: (c, username) => c.set("user", username),
 * }))(app);
 *
 * const refused = await fetch(new Request("http://x.test/admin"));
 * assert.equal(refused.status, 401);
 * assert.equal(refused.headers.get("www-authenticate"), 'Basic realm="Secure Area"');
 * await refused.body?.cancel();
 * const r = await fetch(new Request("http://x.test/admin", {
 *   headers: { Authorization: `Basic ${btoa("ada:secret")}` },
 * }));
 * assert.equal(await r.text(), "hello ada");
 * ```
 */
export function fromHono(
  middleware: HonoMiddleware,
): (next: FetchApp) => FetchHandler {
  if (typeof middleware !== "function") {
    throw new TypeError(
      `Cannot use fromHono(): expected a Hono middleware function, got ${
        describe(middleware)
      }`,
    );
  }
  return middlewareEntry(
    (next) => (raw, info, record) =>
      runMiddleware(middleware, next, raw, info, record),
    "fromHono()",
  );
}

/** What a response may carry for what runs once it is sent. */
type Closing = { [kClose]?: (() => Promise<void>) | true };

/** What Hono's `c.notFound()` answers: Pesto's generic 404. */
const notFoundHandler = (): globalThis.Response =>
  new HttpError(404).toResponse();

async function runMiddleware(
  middleware: HonoMiddleware,
  next: FetchHandler,
  raw: globalThis.Request,
  info: Deno.ServeHandlerInfo | undefined,
  record: RequestRecord,
): Promise<globalThis.Response> {
  const c = new Context(raw, {
    env: info,
    path: getPath(raw),
    notFoundHandler,
  });
  const vars = record.shared?.vars;
  if (vars !== undefined) {
    for (const [key, value] of vars) {
      c.set(key, value);
    }
  }
  // The app's response as handed to Hono, the error the app threw, and
  // whether the middleware has answered.
  let handed: globalThis.Response | undefined;
  let appError: { error: unknown } | undefined;
  let called = false;
  let settled = false;
  const callNext = async (): Promise<void> => {
    if (called) {
      throw new Error(
        "Cannot call next() twice: the Hono middleware given to fromHono() called it again",
      );
    }
    called = true;
    let request: globalThis.Request = c.req.raw;
    if (request !== raw && recordOf(request) === undefined) {
      request = adopt(raw, request, request.body);
    } else if (request === raw && honoReadBody(c)) {
      // (Not `raw.bodyUsed`: asking makes the body's stream, which, left
      // unread, costs the client its answer when the response is streamed.)
      const read = await bodyHonoRead(c);
      if (read !== undefined) request = adopt(raw, raw, read[0], read[1]);
    }
    keepVars(c, record);
    let response: globalThis.Response;
    try {
      response = await next(request, info);
    } catch (error) {
      appError = { error };
      throw error;
    }
    if (settled) return abandon(response);
    handed = withPrepared(c, response);
    c.res = handed;
  };
  try {
    const result = await middleware(c, callNext);
    if (result instanceof globalThis.Response && !c.finalized) c.res = result;
  } catch (error) {
    settled = true;
    if (
      (appError !== undefined && error === appError.error) ||
      !(error instanceof Error) || !("getResponse" in error) ||
      typeof error.getResponse !== "function"
    ) throw error;
    const own = error.getResponse() as globalThis.Response;
    c.error = error;
    c.res = c.newResponse(own.body, own);
  }
  settled = true;
  if (!c.finalized) {
    throw new TypeError(
      "Cannot answer the request: the Hono middleware given to fromHono() neither returned a response nor called next()",
    );
  }
  const out = c.res;
  if (handed !== undefined && out !== handed) carryClose(handed, out);
  return out;
}

/**
 * `replaced` (the request a Hono middleware put in place of `raw`, or `raw`
 * itself) with `body`, as a request that shares `raw`'s record (its
 * session, body, cleanups and vars).
 */
function adopt(
  raw: globalThis.Request,
  replaced: globalThis.Request,
  body: BodyInit | null,
  contentType?: string,
): globalThis.Request {
  let headers = replaced.headers;
  if (contentType !== undefined) {
    headers = new Headers(headers);
    headers.set("content-type", contentType);
  }
  return deriveRequest(
    raw,
    replaced.url,
    replaced.url === raw.url ? {} : { url: replaced.url },
    { method: replaced.method, headers, body, signal: replaced.signal },
  );
}

/** What Hono keeps of a body read through `c.req`. */
interface BodyCache {
  arrayBuffer?: Promise<ArrayBuffer>;
  text?: Promise<string>;
  blob?: Promise<Blob>;
  formData?: Promise<FormData>;
  json?: Promise<unknown>;
}

/** Whether a Hono middleware read the body through `c.req`. */
function honoReadBody(c: Context): boolean {
  const cache = c.req.bodyCache as BodyCache;
  return cache.arrayBuffer !== undefined || cache.text !== undefined ||
    cache.blob !== undefined || cache.formData !== undefined ||
    cache.json !== undefined;
}

/**
 * The body a Hono middleware read through `c.req` (`c.req.text()`,
 * `parseBody()`, ...), as Hono keeps it, for the app to read again: the
 * bytes when Hono has them, else the form it parsed (sent as a new
 * multipart body, with its own `Content-Type`).
 */
async function bodyHonoRead(
  c: Context,
): Promise<[BodyInit, string | undefined] | undefined> {
  const cache = c.req.bodyCache as BodyCache;
  const kept = cache.arrayBuffer ?? cache.text ?? cache.blob;
  if (kept !== undefined) return [await kept, undefined];
  if (cache.formData !== undefined) {
    const form = new globalThis.Response(await cache.formData);
    return [form.body!, form.headers.get("content-type") ?? undefined];
  }
  if (cache.json !== undefined) {
    return [JSON.stringify(await cache.json), undefined];
  }
  return undefined;
}

/** Copies what the middleware set with `c.set()` into `request.vars`. */
function keepVars(c: Context, record: RequestRecord): void {
  const values = c.var as Record<string, unknown>;
  for (const key in values) {
    (sharedOf(record).vars ??= new Map()).set(key, values[key]);
  }
}

/**
 * The app's response with the headers the middleware set with `c.header()`
 * before calling `next()`: changed in place, as Hono's middleware change
 * `c.res.headers` (a copy when its headers cannot change); `Set-Cookie` is
 * added to the app's, `Vary` joined to it.
 */
function withPrepared(
  c: Context,
  response: globalThis.Response,
): globalThis.Response {
  // Hono's own way to the headers set so far: a response built now.
  const prepared = c.newResponse(null).headers;
  let any = false;
  for (const _ of prepared) {
    any = true;
    break;
  }
  if (!any) return response;
  const add = (headers: Headers) =>
    prepared.forEach((value, name) => {
      if (name === "set-cookie") headers.append(name, value);
      else if (name === "vary" && headers.has("vary")) {
        headers.set(name, `${headers.get("vary")}, ${value}`);
      } else headers.set(name, value);
    });
  try {
    add(response.headers);
    return response;
  } catch {
    // Immutable headers (a response of fetch()): a web response's copy.
    return withHeaders(response, add);
  }
}

/**
 * Makes the `onClose` callbacks of the app's body-less response (they run
 * once it is sent) run once `out`, what the middleware made of it, is sent.
 * A response with a body runs its callbacks when the body ends, wherever it
 * went.
 */
function carryClose(handed: globalThis.Response, out: globalThis.Response) {
  const close = (handed as Closing)[kClose];
  if (typeof close !== "function") return;
  const own = (out as Closing)[kClose];
  (out as Closing)[kClose] = typeof own === "function"
    ? () => Promise.all([own(), close()]).then(() => {})
    : close;
}

/** Drops a response that came after the middleware answered. */
function abandon(response: globalThis.Response): void {
  if (!response.bodyUsed) response.body?.cancel().catch(() => {});
  const close = (response as Closing)[kClose];
  if (typeof close === "function") void close();
}
