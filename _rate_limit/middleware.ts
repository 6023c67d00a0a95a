// `rateLimit()`: at most `limit` requests per window per key, answered
// with the RateLimit fields of the IETF HTTPAPI draft.
import { HttpError } from "../_message/errors.ts";
import { Request } from "../_message/request.ts";
import { type Response, withHeaders } from "../_message/response.ts";
import { type DualMiddleware, middlewareEntry } from "../_handler.ts";
import { StoreHealth } from "../_session/health.ts";
import { timeoutOption, withTimeout } from "../_session/timeout.ts";
import { MemoryRateLimitStore } from "./memory_store.ts";
import type { RateLimitStore } from "./store.ts";

/** What {@linkcode RateLimitOptions.onLimited} is told of a refused request. */
export interface RateLimitExceeded {
  /** The request's key. */
  key: string;
  /** The policy's name. */
  name: string;
  /** The requests allowed per window. */
  limit: number;
  /** The requests counted in the key's current window, this one included. */
  count: number;
  /** The milliseconds left until the key's window ends. */
  resetIn: number;
  /** The seconds to wait, as sent in `Retry-After`. */
  retryAfter: number;
}

/** Options of {@linkcode rateLimit}. */
export interface RateLimitOptions {
  /** The requests allowed per window and key: a positive integer. */
  limit: number;
  /** The length of a window in ms: a positive integer. */
  window: number;
  /**
   * The key a request is counted under, from the request (sync or async).
   * A request whose key is `undefined` is not counted and passes unchanged,
   * without RateLimit fields: return `undefined` to exempt a request. An
   * `HttpError` it throws is the answer (a form too large, say); anything
   * else it throws goes on to the caller.
   * @default {(request) => request.remoteAddr} (the client address, which
   *   `useXForwarded()` corrects behind a proxy; `undefined`, so not
   *   counted, when the request came with no connection info)
   */
  key?: (
    request: Request,
  ) => string | undefined | Promise<string | undefined>;
  /**
   * Where the counts are kept. Counts are kept per `name` and key, so
   * several `rateLimit()` middlewares may share one store when their names
   * differ.
   * @default {new MemoryRateLimitStore()}
   */
  store?: RateLimitStore;
  /**
   * The policy's name in the `RateLimit-Policy` and `RateLimit` fields:
   * printable ASCII (a Structured Field String).
   * @default {"default"}
   */
  name?: string;
  /**
   * Makes the answer to a refused request, instead of the 429
   * `Too Many Requests` text; the RateLimit fields are added to it, and
   * `Retry-After` unless it has one.
   * @default {undefined} (a 429 with `text/plain` `Too Many Requests`)
   */
  onLimited?: (
    request: Request,
    exceeded: RateLimitExceeded,
  ) =>
    | Response
    | globalThis.Response
    | Promise<Response | globalThis.Response>;
  /**
   * Called with every failure of the store. Whether or not it is given, the
   * log gets one line when the store stops answering and one when it
   * answers again; meanwhile requests answer 503 with `Retry-After`.
   * @default {undefined}
   */
  onError?: (error: unknown) => void;
  /**
   * Milliseconds the store may take to count a request before the request
   * answers 503: a store that does not answer is an outage, never a hang.
   * @default {3000}
   */
  timeout?: number;
}

function positiveInteger(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new TypeError(
      `Cannot limit rates: ${name} must be a positive integer, not ${
        typeof value === "string" ? JSON.stringify(value) : String(value)
      }`,
    );
  }
  return value as number;
}

/** `name` as a Structured Field String (RFC 9651, section 3.3.3). */
function sfString(name: unknown): string {
  if (typeof name !== "string" || !/^[\x20-\x7e]*$/.test(name)) {
    throw new TypeError(
      `Cannot limit rates: name must be a string of printable ASCII, not ${
        typeof name === "string" ? JSON.stringify(name) : String(name)
      }`,
    );
  }
  return `"${name.replace(/["\\]/g, "\\$&")}"`;
}

const defaultKey = (request: Request): string | undefined => request.remoteAddr;

/**
 * A middleware that lets at most `limit` requests per `window` ms through
 * for each key (by default the client address, `request.remoteAddr`, which
 * {@linkcode useXForwarded} corrects behind a proxy), and answers the
 * others `429 Too Many Requests` with `Retry-After` (seconds) without
 * calling the next handler.
 *
 * Windows are fixed: a key's first request starts its window, and its
 * count starts again from 0 when the window ends. The count is kept in the
 * `store`: the default {@linkcode MemoryRateLimitStore} counts in this
 * process; {@linkcode KvRateLimitStore} and {@linkcode RedisRateLimitStore}
 * count atomically in Deno KV or Redis, so every process sharing the
 * database or the server shares one limit.
 *
 * Every counted answer, allowed or refused, carries the RateLimit fields of
 * the IETF HTTPAPI draft (`draft-ietf-httpapi-ratelimit-headers-11`):
 * `RateLimit-Policy: "default";q=100;w=60` (the limit, and the window in
 * seconds rounded up) and `RateLimit: "default";r=99;t=42` (the requests
 * left, and the seconds until the window ends, rounded up). They are
 * appended, so the answer of two nested `rateLimit()`s with different
 * names lists both policies. No partition key (`pk`) is sent: the key is
 * often the client's address.
 *
 * A request whose key is `undefined` (the default key of a request with no
 * connection info, or what your `key` returns to exempt it) passes
 * unchanged and uncounted. Every other request counts, whatever its method
 * (CORS preflights included) and whatever the answer. One `rateLimit()`
 * wrapping several handlers counts their requests together; make one per
 * handler for separate limits.
 *
 * @param options The limit, the window, and how to key, store and answer.
 * @returns A {@linkcode Middleware}.
 * @throws {TypeError} When `limit` or `window` is not a positive integer,
 *   `name` is not printable ASCII, or `key`, `store` or `onLimited` is not
 *   what it should be.
 *
 * @example Five requests a minute per client address
 * ```ts
 * import { compose, rateLimit, Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = toHandler(() => new Response("hello"));
 * const fetch = compose(rateLimit({ limit: 5, window: 60_000 }))(app);
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "203.0.113.9", port: 4000 },
 *   completed: Promise.resolve(),
 * };
 * const first = await fetch(new Request("http://x.test/"), info);
 * assert.equal(first.headers.get("ratelimit-policy"), '"default";q=5;w=60');
 * assert.equal(first.headers.get("ratelimit"), '"default";r=4;t=60');
 * for (let i = 0; i < 4; i++) await fetch(new Request("http://x.test/"), info);
 * const refused = await fetch(new Request("http://x.test/"), info);
 * assert.equal(refused.status, 429);
 * assert.equal(refused.headers.get("retry-after"), "60");
 * assert.equal(refused.headers.get("ratelimit"), '"default";r=0;t=60');
 * ```
 *
 * @example Logins limited per user name
 * ```ts
 * import { DispatcherApp, rateLimit, Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * const tries = rateLimit({
 *   name: "login",
 *   limit: 3,
 *   window: 15 * 60_000,
 *   key: async (request) => {
 *     const user = await request.get("user");
 *     return typeof user === "string" ? user.toLowerCase() : undefined;
 *   },
 * });
 * app.match("/login", "POST", tries(toHandler(async (request) => new Response(`hi ${await request.get("user")}`))));
 * const login = (user: string) =>
 *   app.fetch(new Request("http://x.test/login", { method: "POST", body: new URLSearchParams({ user }) }));
 * for (let i = 0; i < 3; i++) assert.equal((await login("Ada")).status, 200);
 * assert.equal((await login("ada")).status, 429);
 * assert.equal((await login("grace")).status, 200);
 * ```
 */
export function rateLimit(options: RateLimitOptions): DualMiddleware {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "Cannot limit rates: expected options with limit and window",
    );
  }
  const limit = positiveInteger("limit", options.limit);
  const window = positiveInteger("window", options.window);
  const name = options.name ?? "default";
  const policyItem = sfString(name);
  const key = options.key ?? defaultKey;
  if (typeof key !== "function") {
    throw new TypeError(
      `Cannot limit rates: key must be a function, not ${typeof key}`,
    );
  }
  const store = options.store ?? new MemoryRateLimitStore();
  if (typeof store?.hit !== "function") {
    throw new TypeError(
      "Cannot limit rates: store must have a hit(key, window) method",
    );
  }
  const onLimited = options.onLimited;
  if (onLimited !== undefined && typeof onLimited !== "function") {
    throw new TypeError(
      `Cannot limit rates: onLimited must be a function, not ${typeof onLimited}`,
    );
  }

  const timeout = timeoutOption(options.timeout, "rate limit store");
  const health = new StoreHealth(
    "Rate limit store",
    options.onError ?? (() => {}),
  );
  const policy = `${policyItem};q=${limit};w=${Math.ceil(window / 1000)}`;
  const prefix = name + ":";

  return middlewareEntry((next) => async (raw, info) => {
    const request = new Request(raw, { info });
    let id: string | undefined;
    try {
      id = await key(request);
    } catch (error) {
      if (error instanceof HttpError) return error.toResponse();
      throw error;
    }
    if (id === undefined) return next(raw, info);
    let count: number, resetIn: number;
    try {
      ({ count, resetIn } = await withTimeout(
        store.hit(prefix + id, window),
        timeout,
        "The rate limit store",
      ));
      health.answered();
    } catch (error) {
      health.failed(error);
      return new HttpError(
        503,
        "Service unavailable for a moment: try again shortly",
        { headers: { "Retry-After": "5" } },
      ).toResponse();
    }
    const seconds = Math.max(0, Math.ceil(resetIn / 1000));
    const remaining = Math.max(0, limit - count);
    const state = `${policyItem};r=${remaining};t=${seconds}`;
    const addFields = (headers: Headers) => {
      headers.append("RateLimit-Policy", policy);
      headers.append("RateLimit", state);
    };
    if (count <= limit) {
      return withHeaders(await next(raw, info), addFields);
    }
    const retryAfter = String(Math.max(1, seconds));
    if (onLimited === undefined) {
      const headers = new Headers({ "Retry-After": retryAfter });
      addFields(headers);
      return new HttpError(429, undefined, { headers }).toResponse();
    }
    const response = await onLimited(request, {
      key: id,
      name,
      limit,
      count,
      resetIn,
      retryAfter: Number(retryAfter),
    });
    return withHeaders(response, (headers) => {
      addFields(headers);
      if (!headers.has("Retry-After")) headers.set("Retry-After", retryAfter);
    });
  }, "rateLimit()");
}
