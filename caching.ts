/**
 * HTTP caching: entity tags, conditional requests and `no-cache` answers.
 *
 * - {@linkcode withEtag} wraps a handler with a function that computes the
 *   current entity tag cheaply: a matching `If-None-Match` is answered 304
 *   and a failing `If-Match` 412 without running the handler.
 * - {@linkcode conditional} is a middleware that evaluates `If-Match`,
 *   `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` against
 *   the `ETag` and `Last-Modified` of any app's responses, in the order of
 *   RFC 9110 (section 13.2.2): 304 for GET and HEAD, 412 otherwise.
 * - {@linkcode noCache} wraps a handler so that nothing keeps its answers.
 *
 * This follows Pesto's `pesto.caching` (`with_etag`, `etag_middleware`,
 * `no_cache`). Differences: all four preconditions are evaluated, not only
 * `If-None-Match`; a state-changing request is checked against the current
 * representation (found with a HEAD request to the same URL) instead of
 * always failing with 412; an entity tag that is not a short plain string
 * is a hash of its JSON form (not of a pickle); a `Date` gives its time;
 * and a 304 keeps the `ETag`, `Cache-Control`, `Vary` and other headers
 * but never `Content-Type` or `Content-Length`.
 *
 * @example
 * ```ts
 * import { DispatcherApp, Response, withEtag } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const versions: Record<string, number> = { intro: 3 };
 * const app = new DispatcherApp();
 * app.match("/docs/<name:unicode>", "GET", (_request, { name }) =>
 *   new Response(`<h1>${name}</h1>`), {
 *   decorators: [withEtag((_request, { name }) => versions[name])],
 * });
 * const first = await app.fetch(new Request("http://x.test/docs/intro"));
 * const etag = first.headers.get("etag")!;
 * const again = await app.fetch(new Request("http://x.test/docs/intro", {
 *   headers: { "If-None-Match": etag },
 * }));
 * assert.equal(again.status, 304);
 * assert.equal(again.headers.get("etag"), etag);
 * assert.equal(again.headers.get("content-type"), null);
 * ```
 *
 * @module
 */
import {
  evaluatePreconditions,
  hasPreconditions,
  notModifiedHeaders,
  parseHttpDate,
} from "./_http/conditional.ts";
import { deriveRequest } from "./_message/record.ts";
import type { Request } from "./_message/request.ts";
import {
  replaceWithoutBody,
  Response,
  withHeaders,
} from "./_message/response.ts";
import {
  asHandler,
  type Decorator,
  type DualHandler,
  type DualMiddleware,
  type Handler,
  handlerEntry,
  middlewareEntry,
} from "./_handler.ts";

/** Options of {@linkcode withEtag} and {@linkcode makeEtag}. */
export interface EtagOptions {
  /**
   * Make a weak tag (`W/"..."`): the content is equivalent, not byte for
   * byte the same (compressed variants, reformatted pages).
   * @default {false}
   */
  weak?: boolean;
}

// etagc characters; a plain tag of at most this length is used as it is.
const PLAIN_TAG = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const encoder = new TextEncoder();

/**
 * Makes an entity tag (an `ETag` value) from a version: a short string of
 * plain characters or a number is used as it is, a `Date` gives its time in
 * ms, and anything else (longer or unusual strings, objects, arrays) gives
 * a SHA-256 hash of its JSON form.
 *
 * @param value The version: a string, number, bigint, `Date`, or JSON data.
 * @param options `weak`.
 * @returns The quoted tag, e.g. `"42"` or `W/"42"`.
 * @throws {TypeError} When `value` is `undefined` or cannot be written as
 *   JSON.
 *
 * @example
 * ```ts
 * import { makeEtag } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await makeEtag(42), '"42"');
 * assert.equal(await makeEtag("v1.2", { weak: true }), 'W/"v1.2"');
 * assert.equal(await makeEtag(new Date(0)), '"0"');
 * assert.match(await makeEtag({ id: 1, rev: 9 }), /^"[A-Za-z0-9_-]{32}"$/);
 * ```
 */
export async function makeEtag(
  value: unknown,
  options: EtagOptions = {},
): Promise<string> {
  let text: string | undefined;
  if (value instanceof Date) text = String(value.getTime());
  else if (typeof value === "number" || typeof value === "bigint") {
    text = String(value);
  } else if (typeof value === "string") text = value;
  if (text === undefined || !PLAIN_TAG.test(text)) {
    let json: string | undefined;
    try {
      json = text ?? JSON.stringify(value);
    } catch (cause) {
      throw new TypeError(
        "Cannot make an entity tag: the value cannot be written as JSON",
        { cause },
      );
    }
    if (json === undefined) {
      throw new TypeError(
        `Cannot make an entity tag from ${typeof value}`,
      );
    }
    const digest = await crypto.subtle.digest("SHA-256", encoder.encode(json));
    text = base64url(new Uint8Array(digest, 0, 24));
  }
  return options.weak ? `W/"${text}"` : `"${text}"`;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-")
    .replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * A handler wrapper: takes a handler and returns one like it.
 *
 * @deprecated Use {@linkcode Decorator}, the same type.
 */
export type HandlerWrapper = Decorator;

const SAFE = new Set(["GET", "HEAD"]);

/**
 * Wraps a handler with entity tags (Pesto's `with_etag`): `etagOf` is
 * called with the handler's arguments and returns the current version of
 * the resource (see {@linkcode makeEtag}), or `undefined`/`null` for none.
 * Before the handler runs, a matching `If-None-Match` on GET or HEAD is
 * answered 304, and a failing `If-Match` or `If-None-Match` on other
 * methods 412, so a cheap `etagOf` saves the handler's work. Responses to
 * GET and HEAD get the `ETag` header when they have none.
 *
 * @param etagOf Computes the version from the handler's arguments.
 * @param options `weak`.
 * @returns A wrapper for handlers (usable in a route's `decorators`).
 *
 * @example Optimistic locking with If-Match
 * ```ts
 * import { DispatcherApp, Response, withEtag } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * let doc = { rev: 1, text: "hello" };
 * const app = new DispatcherApp();
 * app.match("/doc", {
 *   GET: () => Response.json(doc),
 *   PUT: async (request) => {
 *     doc = { rev: doc.rev + 1, text: await request.text() };
 *     return new Response(null, { status: 204 });
 *   },
 * }, { decorators: [withEtag(() => doc.rev)] });
 *
 * const etag = (await app.fetch(new Request("http://x.test/doc"))).headers.get("etag")!;
 * const put = (ifMatch: string) => app.fetch(new Request("http://x.test/doc", {
 *   method: "PUT", body: "changed", headers: { "If-Match": ifMatch },
 * }));
 * assert.equal((await put(etag)).status, 204);
 * assert.equal((await put(etag)).status, 412); // the tag is stale now
 * ```
 */
export function withEtag(
  // deno-lint-ignore no-explicit-any
  etagOf: (request: Request, ...args: any[]) => unknown,
  options: EtagOptions = {},
  // deno-lint-ignore no-explicit-any
): <A extends any[]>(handler: Handler<A>) => Handler<A> & DualHandler {
  // deno-lint-ignore no-explicit-any
  return <A extends any[]>(given: Handler<A>) => {
    const handler = asHandler(given);
    return handlerEntry(async (request: Request, ...args: A) => {
      const value = await etagOf(request, ...args);
      if (value === undefined || value === null) {
        return await handler(request, ...args);
      }
      const etag = await makeEtag(value, options);
      const verdict = evaluatePreconditions(request.method, request.headers, {
        etag,
        exists: true,
      });
      if (verdict === 304) {
        return new Response(null, { status: 304, headers: { ETag: etag } });
      }
      if (verdict === 412) return preconditionFailed();
      const response = await handler(request, ...args);
      if (
        !SAFE.has(request.method) || response.headers.has("etag") ||
        response.status < 200 || response.status >= 300
      ) return response;
      return withHeaders(response, (h) => h.set("ETag", etag));
    }) as Handler<A> & DualHandler;
  };
}

function preconditionFailed(): Response {
  return new Response("Precondition Failed", {
    status: 412,
    contentType: "text/plain",
  });
}

/**
 * The conditional-request middleware: it evaluates `If-Match`,
 * `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` against
 * the `ETag` and `Last-Modified` headers of the app's answers, in RFC 9110
 * order, for any fetch handler.
 *
 * - GET and HEAD: the app answers, then a 2xx answer becomes a 304 (with no
 *   body, no `Content-Type`) when the client's copy is current, or a 412
 *   when `If-Match` / `If-Unmodified-Since` fail.
 * - Other methods: the current validators are read first, by a HEAD
 *   request to the same URL through the app; when a precondition fails the
 *   answer is 412 and the request never reaches the app.
 *
 * Requests without these headers pass straight through.
 *
 * @returns A {@linkcode Middleware}.
 *
 * @example
 * ```ts
 * import { compose, conditional } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const fetch = compose(conditional())(() =>
 *   Promise.resolve(new Response("data", {
 *     headers: { ETag: '"v2"', "Last-Modified": "Sun, 06 Nov 1994 08:49:37 GMT" },
 *   }))
 * );
 * const cached = await fetch(new Request("http://x.test/", { headers: { "If-None-Match": '"v1", "v2"' } }));
 * assert.equal(cached.status, 304);
 * const since = await fetch(new Request("http://x.test/", {
 *   headers: { "If-Modified-Since": "Mon, 07 Nov 1994 00:00:00 GMT" },
 * }));
 * assert.equal(since.status, 304);
 * ```
 */
export function conditional(): DualMiddleware {
  return middlewareEntry((next) => async (raw, info) => {
    if (!hasPreconditions(raw.headers)) return next(raw, info);
    const method = raw.method.toUpperCase();
    if (SAFE.has(method)) {
      const response = await next(raw, info);
      if (response.status < 200 || response.status >= 300) return response;
      const verdict = evaluatePreconditions(method, raw.headers, {
        etag: response.headers.get("etag"),
        lastModified: lastModifiedOf(response.headers),
        exists: true,
      });
      if (verdict === undefined) return response;
      if (verdict === 304) {
        return replaceWithoutBody(
          response,
          304,
          notModifiedHeaders(response.headers),
        );
      }
      response.body?.cancel().catch(() => {});
      return preconditionFailed();
    }
    // Read the current validators without changing anything.
    const headers = new Headers(raw.headers);
    for (
      const name of [
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "range",
        "if-range",
        "content-type",
        "content-length",
      ]
    ) headers.delete(name);
    const probe = await next(
      deriveRequest(raw, raw.url, {}, {
        method: "HEAD",
        headers,
        body: null,
      }),
      info,
    );
    probe.body?.cancel().catch(() => {});
    const exists = probe.status >= 200 && probe.status < 300;
    const verdict = evaluatePreconditions(method, raw.headers, {
      etag: exists ? probe.headers.get("etag") : undefined,
      lastModified: exists ? lastModifiedOf(probe.headers) : undefined,
      exists,
    });
    if (verdict !== undefined) {
      raw.body?.cancel().catch(() => {});
      return preconditionFailed();
    }
    return next(raw, info);
  }, "conditional()");
}

function lastModifiedOf(headers: Headers): number | undefined {
  const value = headers.get("last-modified");
  return value === null ? undefined : parseHttpDate(value);
}

/**
 * Wraps a handler so that its answers are never cached (Pesto's
 * `no_cache`): `Cache-Control: no-cache, no-store, must-revalidate`,
 * `Pragma: no-cache` and an `Expires` date in the past.
 *
 * @param handler The handler.
 * @returns A handler like it.
 *
 * @example
 * ```ts
 * import { DispatcherApp, noCache, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/account", "GET", noCache(() => new Response("private")));
 * const r = await app.fetch(new Request("http://x.test/account"));
 * assert.equal(r.headers.get("cache-control"), "no-cache, no-store, must-revalidate");
 * ```
 */
// deno-lint-ignore no-explicit-any
export function noCache<A extends any[]>(
  given: Handler<A>,
): Handler<A> & DualHandler {
  const handler = asHandler(given);
  return handlerEntry(async (request: Request, ...args: A) => {
    const response = await handler(request, ...args);
    return withHeaders(response, (headers) => {
      headers.set("Cache-Control", "no-cache, no-store, must-revalidate");
      headers.set("Pragma", "no-cache");
      headers.set("Expires", "Mon, 26 Jul 1997 05:00:00 GMT");
    });
  }) as Handler<A> & DualHandler;
}
