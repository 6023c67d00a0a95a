/**
 * Pesto's `Response`: a value object over the web `Response`.
 *
 * It extends `globalThis.Response`, so it goes straight to `Deno.serve` or to
 * any fetch-based code, and adds Pesto's conveniences: content given as a
 * string, bytes, a list or (async) iterable of chunks, or a stream; headers
 * given as a record; a default `Content-Type` of `text/html; charset=UTF-8`;
 * modifiers that return a new response (`addHeader`, `addCookie`, `replace`,
 * `onClose`, ...); and canned responses (`Response.notFound()`,
 * `Response.redirect(...)`, ...).
 *
 * A body given as bytes is copied by the web `Response`, as the Fetch
 * standard says; once `Deno.serve` has sent a response returned through
 * `toHandler`, `serve` or `DispatcherApp`, that copy is released if it is 4
 * KiB or more (its memory freed at once rather than at some later garbage
 * collection, which under load comes too seldom for large buffers). The bytes
 * the application gave stay as they are, and a response whose body
 * JavaScript read instead is never touched.
 *
 * Differences from Python's Pesto: the status is a number (the reason phrase
 * comes from {@linkcode STATUS_TEXT}); header names keep the case the web
 * `Headers` class gives them (lower case); canned messages are HTML-escaped;
 * a relative redirect is resolved browser-style against the current URL.
 *
 * @example
 * ```ts
 * import { Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const response = new Response(["<h1>", "Hello", "</h1>"])
 *   .addHeader("Cache-Control", "no-store")
 *   .addCookie("theme", "dark", { path: "/" });
 * assert.equal(response.status, 200);
 * assert.equal(response.contentType, "text/html; charset=UTF-8");
 * assert.equal(await response.text(), "<h1>Hello</h1>");
 * ```
 *
 * @module
 */
import { closeWithoutBody, internals, requestContext } from "./_context.ts";
import { Cookie, type CookieOptions, expireCookie } from "./cookies.ts";

/** HTTP status codes by name, as in RFC 9110 and its companions. */
export const STATUS_CODE = {
  Continue: 100,
  SwitchingProtocols: 101,
  OK: 200,
  Created: 201,
  Accepted: 202,
  NonAuthoritativeInfo: 203,
  NoContent: 204,
  ResetContent: 205,
  PartialContent: 206,
  MultipleChoices: 300,
  MovedPermanently: 301,
  Found: 302,
  SeeOther: 303,
  NotModified: 304,
  UseProxy: 305,
  TemporaryRedirect: 307,
  PermanentRedirect: 308,
  BadRequest: 400,
  Unauthorized: 401,
  PaymentRequired: 402,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  ProxyAuthRequired: 407,
  RequestTimeout: 408,
  Conflict: 409,
  Gone: 410,
  LengthRequired: 411,
  PreconditionFailed: 412,
  ContentTooLarge: 413,
  URITooLong: 414,
  UnsupportedMediaType: 415,
  RangeNotSatisfiable: 416,
  ExpectationFailed: 417,
  Teapot: 418,
  MisdirectedRequest: 421,
  UnprocessableContent: 422,
  Locked: 423,
  FailedDependency: 424,
  TooEarly: 425,
  UpgradeRequired: 426,
  PreconditionRequired: 428,
  TooManyRequests: 429,
  RequestHeaderFieldsTooLarge: 431,
  UnavailableForLegalReasons: 451,
  InternalServerError: 500,
  NotImplemented: 501,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
  HTTPVersionNotSupported: 505,
  VariantAlsoNegotiates: 506,
  InsufficientStorage: 507,
  LoopDetected: 508,
  NotExtended: 510,
  NetworkAuthenticationRequired: 511,
} as const;

/** The reason phrase of each status code in {@linkcode STATUS_CODE}. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  305: "Use Proxy",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  418: "I'm a teapot",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  423: "Locked",
  424: "Failed Dependency",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  506: "Variant Also Negotiates",
  507: "Insufficient Storage",
  508: "Loop Detected",
  510: "Not Extended",
  511: "Network Authentication Required",
};

/** One chunk of response content. */
export type Chunk = string | Uint8Array;

/**
 * What a {@linkcode Response} can carry: a string, bytes, an iterable or
 * async iterable of string/bytes chunks (Pesto's list of chunks, or a
 * generator), a `ReadableStream`, any other web `BodyInit` (a `Blob`,
 * `FormData`, `URLSearchParams`), or nothing.
 */
export type ResponseContent =
  | Chunk
  | Iterable<Chunk>
  | AsyncIterable<Chunk>
  | ReadableStream<Uint8Array>
  | Blob
  | FormData
  | URLSearchParams
  | ArrayBuffer
  | null
  | undefined;

/**
 * Headers as a web `HeadersInit` or as a record whose `null`/`undefined`
 * values are skipped and whose array values repeat the header.
 */
export type HeadersRecord = Record<
  string,
  string | number | readonly (string | number)[] | null | undefined
>;

/** Headers in any form a {@linkcode Response} accepts. */
export type ResponseHeaders = HeadersInit | HeadersRecord;

/** Options of `new Response(content, init)`. */
export interface ResponseOptions {
  /**
   * The status code.
   * @default {200}
   */
  status?: number;
  /**
   * The reason phrase.
   * @default {STATUS_TEXT[status]}
   */
  statusText?: string;
  /** The headers. */
  headers?: ResponseHeaders;
  /**
   * The media type, for the `Content-Type` header (a `charset` is added to
   * `text/*` types, and to others when `charset` is given: `text/html` gives
   * `text/html; charset=UTF-8`). Plain UTF-8 text is spelled as the web
   * platform spells it, `text/plain;charset=UTF-8`, the type the runtime
   * gives a string body at no cost.
   * @default {"text/html"}
   */
  contentType?: string;
  /**
   * The charset that string chunks are encoded with. `UTF-8`, `ISO-8859-1`
   * (`latin1`) and `US-ASCII` are supported; for any other, pass bytes.
   * @default {"UTF-8"}
   */
  charset?: string;
}

/** Options of {@linkcode Response.prototype.replace}. */
export interface ReplaceOptions {
  /** New content (`null` for none). */
  content?: ResponseContent;
  /** New status code. */
  status?: number;
  /** A whole new set of headers. */
  headers?: ResponseHeaders;
}

const DEFAULT_CONTENT_TYPE = "text/html; charset=UTF-8";
// Plain UTF-8 text, spelled as the web platform spells it: the type a string
// body gets from the runtime itself, which costs nothing, where any header
// given in a response init is converted and checked character by character
// (about 200 ns a response here).
const WEB_TEXT = "text/plain;charset=UTF-8";
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const encoder = new TextEncoder();

// The callbacks given to the constructor by modifiers, under a private key
// of the options object so they never show in the public signature.
const kCallbacks = Symbol("pesto.callbacks");
type DerivedOptions = ResponseOptions & { [kCallbacks]?: readonly Callback[] };
type HeaderPairs = [string, string][];

/** A function run once a response's body is sent (see `onClose`). */
export type Callback = () => unknown;

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

  static {
    internals.withoutBody = (response) => Response.#withoutBody(response);
    internals.hasOnClose = (response) =>
      #onClose in response && response.#onClose.length > 0;
  }

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
    if (prepared.callbacks.length && prepared.body === null) {
      const callbacks = prepared.callbacks;
      closeWithoutBody.set(this, () => runCallbacks(callbacks));
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

  static #withoutBody(response: globalThis.Response): globalThis.Response {
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
}

/**
 * Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
 *
 * @param text Any text.
 * @returns The escaped text.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

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
const NO_CALLBACKS: readonly Callback[] = Object.freeze([]);
// Web Response inits by (status, content type, charset): computed once,
// reused for every plain response.
const plainInits = new Map<
  number,
  Map<string | undefined, Map<string | undefined, PlainInit>>
>();

interface Prepared {
  body: BodyInit | null;
  init: ResponseInit | undefined;
  charset: string;
  callbacks: readonly Callback[];
}

/** Works out the web body and init of a `Response`, quickly when simple. */
function prepare(content: ResponseContent, init: ResponseOptions): Prepared {
  const status = init.status ?? 200;
  const callbacks = (init as DerivedOptions)[kCallbacks] ?? NO_CALLBACKS;
  if (
    init.headers === undefined && init.statusText === undefined &&
    callbacks.length === 0 &&
    (typeof content === "string" || content === null || content === undefined)
  ) {
    return preparePlain(content, init, status);
  }
  const headers = headerPairs(init.headers);
  const typed = content instanceof FormData || content instanceof Blob ||
    content instanceof URLSearchParams;
  const existing = findHeader(headers, "content-type");
  let charset: string;
  if (existing !== undefined) {
    charset = normaliseCharset(charsetOf(existing) ?? init.charset);
  } else {
    charset = normaliseCharset(init.charset);
    const type = typed && init.contentType === undefined
      ? undefined
      : contentTypeOf(status, init);
    if (type !== undefined) headers.push(["content-type", type]);
  }
  let body = makeBody(content, charset);
  // A string body would get the web default "text/plain" type: keep none.
  if (
    typeof body === "string" &&
    findHeader(headers, "content-type") === undefined
  ) {
    body = encoder.encode(body);
  }
  if (callbacks.length && body !== null && !NULL_BODY_STATUS.has(status)) {
    body = watchBody(toStream(body), callbacks);
  }
  if (NULL_BODY_STATUS.has(status)) body = null;
  return {
    body,
    init: { status, statusText: init.statusText, headers },
    charset,
    callbacks,
  };
}

/** The common case: text or nothing, no headers, no callbacks. */
function preparePlain(
  content: string | null | undefined,
  init: ResponseOptions,
  status: number,
): Prepared {
  const plain = plainInit(init, status);
  let body: BodyInit | null =
    plain.nullBody || content === undefined || content === null
      ? null
      : plain.charset === "utf-8"
      ? content
      : encode(content, plain.charset);
  if (typeof body === "string" && !plain.hasType) body = encoder.encode(body);
  return {
    body,
    init: plain.init,
    charset: plain.charset,
    callbacks: NO_CALLBACKS,
  };
}

interface PlainInit {
  init: ResponseInit | undefined;
  charset: string;
  hasType: boolean;
  nullBody: boolean;
}

/** The web init for a status, content type and charset, computed once. */
function plainInit(init: ResponseOptions, status: number): PlainInit {
  // Most responses in a row have the same status, type and charset.
  const last = lastPlain;
  if (
    last !== undefined && last.status === status &&
    last.contentType === init.contentType && last.charset === init.charset
  ) return last.plain;
  let byType = plainInits.get(status);
  if (byType === undefined) plainInits.set(status, byType = new Map());
  let byCharset = byType.get(init.contentType);
  if (byCharset === undefined) {
    byType.set(init.contentType, byCharset = new Map());
  }
  let plain = byCharset.get(init.charset);
  if (plain === undefined) {
    const contentType = contentTypeOf(status, init);
    plain = {
      // Plain text gets its type from the runtime, the body being a string
      // (see WEB_TEXT). JSON's header as one plain object, which Deno takes
      // as it is (`Response.json` 283 -> 153 ns). Else a Headers object,
      // never changed: Deno copies one into a response faster than it
      // converts pairs (about 190 ns against 270 ns).
      // A 200 of it gets no init at all: the runtime's quickest path.
      init: contentType === WEB_TEXT
        ? status === 200 ? undefined : { status }
        : contentType === "application/json"
        ? { status, headers: { "content-type": contentType } }
        : {
          status,
          headers: new Headers(
            contentType ? [["content-type", contentType]] : [],
          ),
        },
      charset: normaliseCharset(init.charset),
      hasType: contentType !== undefined,
      nullBody: NULL_BODY_STATUS.has(status),
    };
    // Bounded: content types built from request data must not grow it forever.
    if (byCharset.size < 64 && byType.size < 256) {
      byCharset.set(init.charset, plain);
    }
  }
  lastPlain = {
    status,
    contentType: init.contentType,
    charset: init.charset,
    plain,
  };
  return plain;
}

let lastPlain: {
  status: number;
  contentType: string | undefined;
  charset: string | undefined;
  plain: PlainInit;
} | undefined;

/** Headers in any accepted form, as `[name, value]` pairs. */
function headerPairs(init: ResponseHeaders | undefined): HeaderPairs {
  const pairs: HeaderPairs = [];
  if (init === undefined) return pairs;
  if (init instanceof Headers) {
    init.forEach((value, name) => pairs.push([name, value]));
  } else if (Array.isArray(init) || Symbol.iterator in init) {
    for (const pair of init as Iterable<readonly string[]>) {
      if (pair.length !== 2) {
        throw new TypeError(
          "Cannot use headers: each pair needs a name and a value",
        );
      }
      pairs.push([String(pair[0]), String(pair[1])]);
    }
  } else {
    for (const [name, value] of Object.entries(init as HeadersRecord)) {
      if (value === null || value === undefined) continue;
      if (Array.isArray(value)) {
        for (const v of value) pairs.push([name, String(v)]);
      } else pairs.push([name, String(value)]);
    }
  }
  return pairs;
}

/** The value of header `lowerName` among `pairs`, case-insensitively. */
function findHeader(pairs: HeaderPairs, lowerName: string): string | undefined {
  for (const [name, value] of pairs) {
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      return value;
    }
  }
  return undefined;
}

/**
 * The Content-Type a response gets when its headers have none: the default
 * `text/html; charset=UTF-8`, or one built from `contentType` and
 * `charset`; none for null-body statuses or `contentType: ""`.
 */
function contentTypeOf(
  status: number,
  init: ResponseOptions,
): string | undefined {
  if (NULL_BODY_STATUS.has(status) || init.contentType === "") return undefined;
  if (init.contentType === undefined && init.charset === undefined) {
    return DEFAULT_CONTENT_TYPE;
  }
  const type = init.contentType ?? "text/html";
  const wantsCharset = init.charset !== undefined || type.startsWith("text/");
  if (!wantsCharset || /;\s*charset=/i.test(type)) return type;
  if (
    type.toLowerCase() === "text/plain" &&
    normaliseCharset(init.charset) === "utf-8"
  ) return WEB_TEXT;
  return `${type}; charset=${init.charset ?? "UTF-8"}`;
}

function charsetOf(contentType: string | null | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return match?.[1];
}

function normaliseCharset(charset: string | undefined): string {
  if (charset === undefined) return "utf-8";
  const lower = charset.toLowerCase();
  if (lower === "utf-8" || lower === "utf8") return "utf-8";
  if (["iso-8859-1", "latin1", "latin-1", "iso8859-1"].includes(lower)) {
    return "latin1";
  }
  if (lower === "us-ascii" || lower === "ascii") return "ascii";
  return lower;
}

/** The byte length of content that is already in memory, else undefined. */
function knownLength(
  content: ResponseContent,
  charset: string,
): number | undefined {
  if (typeof content === "string") return encode(content, charset).byteLength;
  if (content instanceof Uint8Array) return content.byteLength;
  if (content instanceof ArrayBuffer) return content.byteLength;
  if (Array.isArray(content)) {
    let total = 0;
    for (const chunk of content as Chunk[]) {
      total += encode(chunk, charset).byteLength;
    }
    return total;
  }
  return undefined;
}

function encode(chunk: Chunk, charset: string): Uint8Array<ArrayBuffer> {
  if (typeof chunk !== "string") return chunk as Uint8Array<ArrayBuffer>;
  if (charset === "utf-8") return encoder.encode(chunk);
  const limit = charset === "ascii" ? 0x80 : charset === "latin1" ? 0x100 : 0;
  if (limit === 0) {
    throw new TypeError(
      `Cannot encode text as "${charset}": pass bytes, or use UTF-8 or ISO-8859-1`,
    );
  }
  const bytes = new Uint8Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) {
    const code = chunk.charCodeAt(i);
    bytes[i] = code < limit ? code : 0x3f; // "?" for what the charset lacks
  }
  return bytes;
}

function makeBody(content: ResponseContent, charset: string): BodyInit | null {
  if (content === null || content === undefined) return null;
  if (typeof content === "string") {
    return charset === "utf-8" ? content : encode(content, charset);
  }
  if (
    content instanceof Uint8Array || content instanceof ReadableStream ||
    content instanceof Blob || content instanceof FormData ||
    content instanceof URLSearchParams || content instanceof ArrayBuffer
  ) {
    return content as BodyInit;
  }
  if (
    Array.isArray(content) && charset === "utf-8" &&
    content.every((c) => typeof c === "string")
  ) {
    return content.join("");
  }
  if (Symbol.asyncIterator in content) {
    return ReadableStream.from(encodeAsync(content, charset));
  }
  if (Symbol.iterator in content) {
    return ReadableStream.from(encodeSync(content, charset));
  }
  throw new TypeError(
    "Cannot make a response body: give a string, bytes, an iterable of chunks or a stream",
  );
}

function* encodeSync(
  chunks: Iterable<Chunk>,
  charset: string,
): Generator<Uint8Array> {
  for (const chunk of chunks) yield encode(chunk, charset);
}

async function* encodeAsync(
  chunks: AsyncIterable<Chunk>,
  charset: string,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield encode(chunk, charset);
}

function toStream(body: BodyInit): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  return new globalThis.Response(body).body!;
}

function watchBody(
  stream: ReadableStream<Uint8Array>,
  callbacks: readonly Callback[],
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  const finish = () => runCallbacks(callbacks);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          await finish();
        } else controller.enqueue(value);
      } catch (error) {
        await finish();
        controller.error(error);
      }
    },
    async cancel(reason) {
      try {
        await reader.cancel(reason);
      } finally {
        await finish();
      }
    },
  });
}

function once(callback: Callback): Callback {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    return callback();
  };
}

async function runCallbacks(callbacks: readonly Callback[]): Promise<void> {
  for (const callback of callbacks) {
    try {
      await callback();
    } catch (error) {
      console.error("Error in a Response.onClose callback:", error);
    }
  }
}
