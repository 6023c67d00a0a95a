// The Pesto `Response` class: a value object over the web `Response`. The
// public face is response.ts.
import { requestContext } from "../_runtime/async_context.ts";
import { Cookie, type CookieOptions, expireCookie } from "../cookies.ts";
import { STATUS_TEXT } from "../_http/status.ts";
import {
  type Callback,
  charsetOf,
  type DerivedOptions,
  findHeader,
  type HeaderPairs,
  headerPairs,
  kCallbacks,
  knownLength,
  once,
  prepare,
  type ResponseContent,
  type ResponseHeaders,
  type ResponseOptions,
  runCallbacks,
} from "./content.ts";
import {
  eventStreamBody,
  type EventStreamOptions,
  type EventStreamSource,
} from "./event_stream.ts";
import { escapeHtml } from "./html.ts";

/**
 * The key of what runs once a response is sent, on a response that has
 * `onClose` callbacks: a function for a response without a body (nothing
 * else will run them), `true` for one whose body runs them when it ends.
 */
export const kClose: unique symbol = Symbol("pesto.close");

/**
 * The key of the mark of a response that was cloned: the runtime's copy of
 * its bytes is then shared with the clone, and never released.
 */
export const kCloned: unique symbol = Symbol("pesto.cloned");

/** The key of the method that gives a response's HEAD answer. */
export const kWithoutBody: unique symbol = Symbol("pesto.withoutBody");

/** Options of {@linkcode Response.prototype.replace}. */
export interface ReplaceOptions {
  /** New content (`null` for none). */
  content?: ResponseContent;
  /** New status code. */
  status?: number;
  /** A whole new set of headers. */
  headers?: ResponseHeaders;
}

/**
 * A web `Response` with Pesto's conveniences. Every modifier returns a new
 * `Response` and leaves this one as it was (its body moves to the new one
 * when it is a stream or a generator, so use only the newest).
 *
 * @example A page, a JSON answer, and a redirect
 * ```ts
 * import { Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const page = new Response("<p>Hi</p>");
 * assert.equal(page.getHeader("content-type"), "text/html; charset=UTF-8");
 *
 * const data = Response.json({ ok: true }, { status: 201 });
 * assert.equal(data.status, 201);
 * assert.deepEqual(await data.json(), { ok: true });
 *
 * const moved = Response.redirect("https://example.com/new", 301);
 * assert.equal(moved.getHeader("location"), "https://example.com/new");
 * ```
 */
export class Response extends globalThis.Response {
  #content: ResponseContent;
  #charset: string;
  #onClose: readonly Callback[];

  /** @ignore What runs once this response is sent (see `kClose`). */
  declare [kClose]?: (() => Promise<void>) | true;
  /** @ignore Whether this response was cloned (see `kCloned`). */
  declare [kCloned]?: true;

  /**
   * Creates a response.
   *
   * @param content The body: a string, bytes, an iterable or async iterable
   *   of chunks, a `ReadableStream`, or nothing.
   * @param init Status, headers, content type and charset.
   * @throws {TypeError} When a header name or value is invalid (a value with
   *   CR, LF or NUL), or when the charset cannot encode strings.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("\u00e9", {
   *   status: 418,
   *   headers: { "X-Tag": ["a", "b"], "X-None": null },
   *   contentType: "text/plain",
   * });
   * assert.equal(r.status, 418);
   * assert.equal(r.statusText, "I'm a teapot");
   * assert.equal(r.getHeader("x-tag"), "a, b");
   * assert.equal(r.getHeader("x-none"), undefined);
   * assert.equal(r.contentType, "text/plain;charset=UTF-8");
   * ```
   */
  constructor(content?: ResponseContent, init: ResponseOptions = NO_OPTIONS) {
    const prepared = prepare(content, init);
    super(prepared.body, prepared.init);
    this.#content = content;
    this.#charset = prepared.charset;
    this.#onClose = prepared.callbacks;
    const callbacks = prepared.callbacks;
    if (callbacks.length) {
      this[kClose] = prepared.body === null
        ? () => runCallbacks(callbacks)
        : true;
    }
  }

  /**
   * The reason phrase: the one given, else the standard one for the status.
   *
   * @returns The status text.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Response("", { status: 404 }).statusText, "Not Found");
   * ```
   */
  override get statusText(): string {
    return super.statusText || (STATUS_TEXT[this.status] ?? "");
  }

  /**
   * A copy of this response, as the web `Response` makes it (both can be
   * read once). A response that was cloned keeps its bytes in memory until
   * both are done with, however it is sent.
   *
   * @returns A web `Response` with the same status, headers and body.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const response = new Response("hello");
   * const copy = response.clone();
   * assert.equal(await copy.text(), "hello");
   * assert.equal(await response.text(), "hello");
   * ```
   */
  override clone(): globalThis.Response {
    this[kCloned] = true;
    return super.clone();
  }

  /**
   * The value of the `Content-Type` header.
   *
   * @returns The header value, or `undefined` when there is none.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Response("x").contentType, "text/html; charset=UTF-8");
   * assert.equal(new Response(null, { status: 204 }).contentType, undefined);
   * ```
   */
  get contentType(): string | undefined {
    return this.headers.get("content-type") ?? undefined;
  }

  /**
   * The `charset` parameter of the `Content-Type` header.
   *
   * @returns The charset, or `undefined` when there is none.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Response("x").charset, "UTF-8");
   * const latin = new Response("x", { contentType: "text/plain", charset: "ISO-8859-1" });
   * assert.equal(latin.charset, "ISO-8859-1");
   * ```
   */
  get charset(): string | undefined {
    return charsetOf(this.headers.get("content-type"));
  }

  /**
   * One header's value.
   *
   * @param name The header name, in any case.
   * @param fallback What to return when the header is absent.
   * @returns The value (several values joined by `", "`), or `fallback`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("x", { headers: { ETag: '"v1"' } });
   * assert.equal(r.getHeader("etag"), '"v1"');
   * assert.equal(r.getHeader("x-missing", "none"), "none");
   * ```
   */
  getHeader<F extends string | undefined = undefined>(
    name: string,
    fallback?: F,
  ): string | F {
    return this.headers.get(name) ?? (fallback as F);
  }

  /**
   * Every value of one header. `Set-Cookie` values come one by one; the web
   * `Headers` class joins repeated values of other headers with `", "`, so
   * those come back as one string.
   *
   * @param name The header name, in any case.
   * @returns The values; empty when the header is absent.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("x").addCookie("a", "1").addCookie("b", "2");
   * assert.deepEqual(r.getHeaders("Set-Cookie"), ["a=1", "b=2"]);
   * ```
   */
  getHeaders(name: string): string[] {
    if (name.toLowerCase() === "set-cookie") return this.headers.getSetCookie();
    const value = this.headers.get(name);
    return value === null ? [] : [value];
  }

  /**
   * A new response with one more header value (existing values are kept).
   *
   * @param name The header name.
   * @param value Its value.
   * @returns A new `Response`.
   * @throws {TypeError} When the name or value is not a valid header (for
   *   example a value with CR or LF).
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("x").addHeader("Vary", "Accept");
   * assert.equal(r.getHeader("vary"), "Accept");
   * ```
   */
  addHeader(name: string, value: string): Response {
    const headers = this.#pairs();
    headers.push([name, value]);
    return this.#derive({ headers });
  }

  /**
   * A new response with several more header values.
   *
   * @param headers The headers to add, as a record (arrays repeat, `null`
   *   skips) or any `HeadersInit`.
   * @returns A new `Response`.
   * @throws {TypeError} When a name or value is not a valid header.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("x").addHeaders({ "X-A": "1", "X-B": ["2", "3"] });
   * assert.equal(r.getHeader("x-b"), "2, 3");
   * ```
   */
  addHeaders(headers: ResponseHeaders): Response {
    const merged = this.#pairs();
    for (const pair of headerPairs(headers)) merged.push(pair);
    return this.#derive({ headers: merged });
  }

  /**
   * A new response without the named headers.
   *
   * @param names Header names, in any case.
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("x").removeHeaders("Content-Type");
   * assert.equal(r.contentType, undefined);
   * ```
   */
  removeHeaders(...names: string[]): Response {
    const drop = new Set(names.map((name) => name.toLowerCase()));
    const headers = this.#pairs().filter(([name]) => !drop.has(name));
    return this.#derive({ headers });
  }

  /**
   * A new response that sets a cookie.
   *
   * @param name The cookie name.
   * @param value The cookie value.
   * @param options The cookie attributes.
   * @returns A new `Response` with one more `Set-Cookie` header.
   * @throws {TypeError} When the name, value or an attribute breaks RFC 6265.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("x").addCookie("sid", "abc", { httpOnly: true, path: "/" });
   * assert.equal(r.getHeader("set-cookie"), "sid=abc; Path=/; HttpOnly");
   * ```
   */
  addCookie(name: string, value: string, options?: CookieOptions): Response {
    return this.addHeader(
      "Set-Cookie",
      new Cookie(name, value, options).toString(),
    );
  }

  /**
   * A new response that tells the browser to drop a cookie.
   *
   * @param name The cookie name.
   * @param options The `path` and `domain` the cookie was set with.
   * @returns A new `Response` with an expiring `Set-Cookie` header.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("x").deleteCookie("sid", { path: "/" });
   * assert.match(r.getHeader("set-cookie")!, /^sid=; Max-Age=0; Expires=Thu, 01 Jan 1970/);
   * ```
   */
  deleteCookie(name: string, options?: CookieOptions): Response {
    return this.addHeader("Set-Cookie", expireCookie(name, options).toString());
  }

  /**
   * A new response with some parts replaced.
   *
   * @param options `content`, `status` and/or `headers` (a given `headers`
   *   replaces the whole header set).
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Response("old").replace({ content: "new", status: 201 });
   * assert.equal(r.status, 201);
   * assert.equal(await r.text(), "new");
   * ```
   */
  replace(options: ReplaceOptions): Response {
    const headers = options.headers === undefined
      ? this.#pairs()
      : headerPairs(options.headers);
    return this.#derive({
      headers,
      status: options.status,
      content: "content" in options ? options.content : this.#content,
    });
  }

  /**
   * A new response that calls `callbacks` once its body has been sent, or
   * the client went away, or the body was cancelled. They run once each, in
   * order; an error in one is logged and does not stop the others.
   *
   * @param callbacks Functions to call (they may return promises).
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * let closed = false;
   * const r = new Response("bye").onClose(() => { closed = true; });
   * await r.text();
   * assert.ok(closed);
   * ```
   */
  onClose(...callbacks: Callback[]): Response {
    return this.#derive({
      headers: this.#pairs(),
      callbacks: [...this.#onClose, ...callbacks.map(once)],
    });
  }

  /**
   * A new response whose body has been read into memory, with a
   * `Content-Length` header.
   *
   * @returns A promise of the new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * async function* chunks() { yield "a"; yield "bc"; }
   * const r = await new Response(chunks()).buffered();
   * assert.equal(r.getHeader("content-length"), "3");
   * assert.equal(await r.text(), "abc");
   * ```
   */
  async buffered(): Promise<Response> {
    const bytes = new Uint8Array(await this.arrayBuffer());
    const headers = this.#pairs().filter(([name]) => name !== "content-length");
    headers.push(["content-length", String(bytes.byteLength)]);
    return this.#derive({ headers, content: bytes });
  }

  /** This response's headers as pairs (Set-Cookie values one by one). */
  #pairs(): HeaderPairs {
    const pairs: HeaderPairs = [];
    this.headers.forEach((value, name) => pairs.push([name, value]));
    return pairs;
  }

  #derive(
    opts: {
      headers: HeaderPairs;
      status?: number;
      content?: ResponseContent;
      callbacks?: readonly Callback[];
    },
  ): Response {
    const status = opts.status ?? this.status;
    const hasType = findHeader(opts.headers, "content-type") !== undefined;
    const init: DerivedOptions = {
      status,
      statusText: opts.status === undefined
        ? super.statusText || undefined
        : undefined,
      headers: opts.headers,
      charset: hasType ? this.#charset : undefined,
      contentType: hasType ? undefined : "",
      [kCallbacks]: opts.callbacks ?? this.#onClose,
    };
    const content = "content" in opts ? opts.content : this.#content;
    return new Response(content, init);
  }

  /**
   * @ignore The same response for a HEAD request: headers kept (with the
   * `Content-Length` of content already in memory), body dropped.
   */
  static [kWithoutBody](response: globalThis.Response): globalThis.Response {
    if (!(response instanceof Response)) {
      response.body?.cancel().catch(() => {});
      return new globalThis.Response(null, response);
    }
    const content = response.#content;
    const headers = response.#pairs();
    const length = knownLength(content, response.#charset);
    if (
      length !== undefined &&
      findHeader(headers, "content-length") === undefined
    ) {
      headers.push(["content-length", String(length)]);
    }
    response.body?.cancel().catch(() => {});
    return response.#derive({ headers, content: null });
  }

  /**
   * 404 Not Found, with Pesto's page.
   *
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(Response.notFound().status, 404);
   * ```
   */
  static notFound(): Response {
    return new Response(
      "<html>\n<body>\n    <h1>Not found</h1>\n    <p>The requested resource could not be found.</p>\n</body>\n</html>",
      { status: 404 },
    );
  }

  /**
   * 403 Forbidden.
   *
   * @param message The heading of the page (HTML-escaped).
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = Response.forbidden("No <b>entry</b>");
   * assert.equal(r.status, 403);
   * assert.match(await r.text(), /No &lt;b&gt;entry&lt;\/b&gt;/);
   * ```
   */
  static forbidden(message = "Sorry, access is denied"): Response {
    return new Response(
      `<html>\n<body>\n    <h1>${escapeHtml(message)}</h1>\n</body>\n</html>`,
      { status: 403 },
    );
  }

  /**
   * 400 Bad Request.
   *
   * @param message The heading of the page (HTML-escaped).
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(Response.badRequest().status, 400);
   * ```
   */
  static badRequest(
    message = "The server could not understand your request",
  ): Response {
    return new Response(
      `<html><body><h1>${escapeHtml(message)}</h1></body></html>`,
      { status: 400 },
    );
  }

  /**
   * 411 Length Required.
   *
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(Response.lengthRequired().status, 411);
   * ```
   */
  static lengthRequired(): Response {
    return new Response(
      "<html><body><h1>The Content-Length header was missing from your request</h1></body></html>",
      { status: 411 },
    );
  }

  /**
   * 413 Content Too Large.
   *
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(Response.requestEntityTooLarge().status, 413);
   * ```
   */
  static requestEntityTooLarge(): Response {
    return new Response(
      "<html><body><h1>Request Entity Too Large</h1></body></html>",
      { status: 413 },
    );
  }

  /**
   * 405 Method Not Allowed with an `Allow` header.
   *
   * @param allowed The methods the resource accepts; sorted and joined by
   *   `", "`.
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = Response.methodNotAllowed(["POST", "GET"]);
   * assert.equal(r.getHeader("allow"), "GET, POST");
   * ```
   */
  static methodNotAllowed(allowed: Iterable<string>): Response {
    return new Response(
      "<html><body><h1>Method not allowed</h1></body></html>",
      {
        status: 405,
        headers: { Allow: [...new Set(allowed)].sort().join(", ") },
      },
    );
  }

  /**
   * 500 Internal Server Error, with a generic page.
   *
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(Response.internalServerError().status, 500);
   * ```
   */
  static internalServerError(): Response {
    return new Response(
      "<html><body><h1>Internal Server Error</h1></body></html>",
      { status: 500 },
    );
  }

  /**
   * A redirect. A relative `location` is resolved browser-style against the
   * URL of the current request (outside a request it is sent as given); a
   * location that starts with `//` or a backslash is taken as a path on this
   * host, never as another host.
   *
   * @param location Where to go.
   * @param status 301, 302, 303, 307 or 308.
   * @returns A new `Response`.
   * @throws {TypeError} When `location` holds CR, LF or NUL, or `status` is
   *   not a redirect status.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = Response.redirect("https://example.com/login", 303);
   * assert.equal(r.status, 303);
   * assert.equal(r.getHeader("location"), "https://example.com/login");
   * ```
   */
  static override redirect(location: string | URL, status = 302): Response {
    if (![301, 302, 303, 307, 308].includes(status)) {
      throw new TypeError(
        `Cannot redirect with status ${status}: use 301, 302, 303, 307 or 308`,
      );
    }
    const target = resolveLocation(String(location));
    const html = escapeHtml(target);
    return new Response([
      "<html><head></head><body>\n",
      "<h1>Page has moved</h1>\n",
      `<p><a href='${html}'>${html}</a></p>\n`,
      "</body></html>",
    ], { status, headers: { Location: target } });
  }

  /**
   * A JSON response (`application/json`).
   *
   * @param data Any value `JSON.stringify` accepts.
   * @param init Status and headers.
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = Response.json([1, 2]);
   * assert.equal(r.contentType, "application/json");
   * assert.deepEqual(await r.json(), [1, 2]);
   * ```
   */
  static override json(data: unknown, init?: ResponseOptions): Response {
    if (init === undefined) {
      return new Response(JSON.stringify(data), JSON_OPTIONS);
    }
    return new Response(JSON.stringify(data), {
      ...init,
      contentType: init.contentType ?? "application/json",
    });
  }

  /**
   * A stream of server-sent events (`text/event-stream`, `Cache-Control:
   * no-cache`), for `EventSource` in browsers. Events are pulled from
   * `source` as the client reads them: objects `{ data, event?, id?, retry?
   * }` (data that is not a string is sent as JSON; each line of it gets its
   * own `data:` line) or strings (the data alone).
   *
   * When the client goes away, the source is stopped: its iterator's
   * `return()` is called, so an async generator runs its `finally` blocks
   * (one waiting inside an `await` is stopped at its next `yield`). The
   * source is stopped too when it gives an event that cannot be sent: an
   * `event` or `id` holding CR or LF (refused, not stripped: such a value
   * would start a field of its own), a `retry` that is not a whole number,
   * data JSON cannot write. The stream then ends with that error, as it
   * does when the source throws: the client sees the connection drop (and
   * `EventSource` reconnects), and `Deno.serve` logs the error.
   *
   * @param source An async iterable (an async generator, a
   *   `ReadableStream`) or iterable of events or strings.
   * @param options `keepAlive` (send `: keep-alive` comments when idle for
   *   so many ms), `status`, `headers`.
   * @returns A new `Response`.
   * @throws {TypeError} When `source` is not iterable or `keepAlive` is not
   *   a number of ms.
   *
   * @example A clock, one tick a second, stopped when the client leaves
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * async function* ticks() {
   *   for (let n = 1; ; n++) {
   *     yield { event: "tick", id: n, data: { n } };
   *     await new Promise((resolve) => setTimeout(resolve, 1000));
   *   }
   * }
   * const response = Response.eventStream(ticks(), { keepAlive: 15_000 });
   * assert.equal(response.getHeader("content-type"), "text/event-stream");
   * const reader = response.body!.getReader();
   * const { value } = await reader.read();
   * assert.equal(new TextDecoder().decode(value), 'event: tick\nid: 1\ndata: {"n":1}\n\n');
   * await reader.cancel(); // what Deno.serve does when the client goes away
   * ```
   *
   * @example Strings, and data on several lines
   * ```ts
   * import { Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const response = Response.eventStream(["hello", { data: "two\nlines" }]);
   * assert.equal(await response.text(), "data: hello\n\ndata: two\ndata: lines\n\n");
   * ```
   */
  static eventStream(
    source: EventStreamSource,
    options: EventStreamOptions = {},
  ): Response {
    const iterable = typeof source === "object" && source !== null &&
      (Symbol.asyncIterator in source || Symbol.iterator in source);
    if (!iterable) {
      throw new TypeError(
        "Cannot make an event stream: the source must be an iterable or async iterable of events",
      );
    }
    const headers = new Headers(options.headers);
    headers.set("Content-Type", "text/event-stream");
    if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-cache");
    return new Response(eventStreamBody(source, options.keepAlive ?? 0), {
      status: options.status,
      headers,
    });
  }
}

function resolveLocation(location: string): string {
  if (/[\r\n\0]/.test(location)) {
    throw new TypeError(
      "Cannot redirect: the location holds CR, LF or NUL characters",
    );
  }
  // A path must never turn into another host: "//evil" or "/\evil" stays here.
  const local = location.replace(/^[/\\]{2,}/, "/");
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(local)) return local;
  const request = requestContext.getStore();
  if (!request) return local;
  return new URL(local, request.requestUri).href;
}

const NO_OPTIONS: ResponseOptions = Object.freeze({});
const JSON_OPTIONS: ResponseOptions = Object.freeze({
  contentType: "application/json",
});

/**
 * The response with changed headers: a Pesto `Response` is derived (its
 * `onClose` callbacks kept), a web response is changed in place when its
 * headers are mutable and copied otherwise.
 */
export function withHeaders(
  response: globalThis.Response,
  change: (headers: Headers) => void,
): globalThis.Response {
  if (response instanceof Response) {
    const headers = new Headers(response.headers);
    change(headers);
    return response.replace({ headers });
  }
  try {
    change(response.headers);
    return response;
  } catch {
    const copy = new globalThis.Response(response.body, response);
    change(copy.headers);
    return copy;
  }
}

/**
 * A body-less response that replaces `response`, whose body is cancelled
 * (which runs its `onClose` callbacks).
 */
export function replaceWithoutBody(
  response: globalThis.Response,
  status: number,
  headers: Headers,
): Response {
  response.body?.cancel().catch(() => {});
  return new Response(null, { status, headers, contentType: "" });
}
