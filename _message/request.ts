// The Pesto `Request` class: everything a handler asks of an incoming
// request over the web request, with every read bounded by its limits. The
// public face is request.ts. The file passes 1,000 lines because it is one
// class whose every member carries its documentation and a runnable
// example; what the class uses lives beside it (body.ts, multipart.ts,
// record.ts, limits.ts, ../_http/).
import { MultiDict } from "../multidict.ts";
import { parseCookieHeader } from "../cookies.ts";
import { isReleased, release } from "../_runtime/release.ts";
import { requestHeader } from "../_runtime/served_request.ts";
import { preferredMediaType } from "../_http/accept.ts";
import { charsetParam, decoderFor } from "../_http/charset.ts";
import {
  encodePathText,
  isValidHost,
  parseTarget,
  type Target,
} from "../_http/path.ts";
import {
  encodePath,
  makeQuery,
  parseQuery,
  type QueryInit,
} from "../_http/query.ts";
import type { Session } from "../_session/session.ts";
import { PayloadTooLarge, RequestParseError } from "./errors.ts";
import { type Limit, readLimited } from "./body.ts";
import { DEFAULT_LIMITS, definedOnly, type RequestLimits } from "./limits.ts";
import { readMultipart } from "./multipart.ts";
import {
  beforeRequestDone,
  type BodyRead,
  ensureRecord,
  hostOf,
  ownsBody,
  type RequestRecord,
  sharedOf,
} from "./record.ts";
import type { FileUpload, FormValue } from "./upload.ts";
import type { StandardSchemaV1 } from "./standard_schema.ts";
import {
  formObject,
  type ValidateOptions,
  validateValue,
} from "./validation.ts";

/** The key of the method that applies a route's own limits. */
export const kSetLimits: unique symbol = Symbol("pesto.setLimits");

/** Options of `new Request(raw, options)`. */
export interface RequestOptions {
  /** What `Deno.serve` tells about the connection (for `remoteAddr`). */
  info?: Deno.ServeHandlerInfo;
  /** Limits on the body; missing ones take {@linkcode DEFAULT_LIMITS}. */
  limits?: RequestLimits;
  /**
   * The decoded path prefix the application is mounted under (Pesto's
   * `SCRIPT_NAME`).
   * @default {""}
   */
  scriptName?: string;
}

/** Options of {@linkcode Request.prototype.makeUri}. */
export interface MakeUriOptions {
  /** `http` or `https`; defaults to the request's. */
  scheme?: string;
  /** `host[:port]` (Pesto's `netloc`); defaults to the request's. */
  host?: string;
  /**
   * A decoded path: absolute, or relative to the current path (resolved as
   * a browser would). Replaces `scriptName` + `pathInfo`.
   */
  path?: string;
  /** The decoded script name to use with `pathInfo`. */
  scriptName?: string;
  /** The decoded path below the script name. */
  pathInfo?: string;
  /**
   * The query: a string used as it is, or data (a record, `MultiDict` or
   * pairs) to encode. When no path part is given the current query is kept;
   * when one is, the default is no query.
   */
  query?: QueryInit;
  /** The fragment, without `#`. */
  fragment?: string;
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
const QUERY_METHODS = new Set(["GET", "HEAD", "DELETE"]);

/**
 * An incoming request. Handlers receive one; `toHandler` builds it from the
 * web request. Everything is read lazily and cached, and the body may be
 * read through `form()`, `json()`, `text()` or `bytes()` more than once.
 *
 * @example
 * ```ts
 * import { Request } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const request = new Request(new globalThis.Request("http://example.com/login", {
 *   method: "POST",
 *   body: new URLSearchParams({ user: "ada", remember: "" }),
 * }));
 * const form = await request.form();
 * assert.equal(form.get("user"), "ada");
 * assert.equal(await request.get("remember"), "");
 * ```
 */
export class Request {
  #raw: globalThis.Request;
  #options: RequestOptions;
  #limits: Readonly<Required<RequestLimits>>;
  #target?: Target;
  #url?: URL;
  #query?: MultiDict<string>;
  #cookies?: MultiDict<string>;
  #form?: Promise<MultiDict<FormValue>>;
  #charset?: string;
  #pathInfo?: string;
  #record: RequestRecord;

  /**
   * Wraps a web request.
   *
   * @param raw The web request.
   * @param options Connection info, limits and script name.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const request = new Request(new globalThis.Request("http://x.test/app/page"), {
   *   scriptName: "/app",
   * });
   * assert.equal(request.scriptName, "/app");
   * assert.equal(request.pathInfo, "/page");
   * ```
   */
  constructor(raw: globalThis.Request, options: RequestOptions = {}) {
    this.#raw = raw;
    this.#options = options;
    this.#record = ensureRecord(raw, options.info);
    this.#limits = options.limits
      ? { ...DEFAULT_LIMITS, ...definedOnly(options.limits) }
      : DEFAULT_LIMITS;
  }

  /** @ignore Applies a route's own limits over this request's. */
  [kSetLimits](limits: RequestLimits): void {
    this.#limits = { ...this.#limits, ...definedOnly(limits) };
  }

  /**
   * The web request this one wraps.
   *
   * @returns The web `Request`.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const raw = new globalThis.Request("http://x.test/");
   * assert.equal(new Request(raw).raw, raw);
   * ```
   */
  get raw(): globalThis.Request {
    return this.#raw;
  }

  /**
   * The limits in force for this request.
   *
   * @returns Every limit, defaults filled in.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/"), { limits: { maxParts: 5 } });
   * assert.equal(r.limits.maxParts, 5);
   * assert.equal(r.limits.bodyTimeout, 30000);
   * ```
   */
  get limits(): Readonly<Required<RequestLimits>> {
    return this.#limits;
  }

  /**
   * The HTTP method, upper case.
   *
   * @returns The method.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { method: "delete" }));
   * assert.equal(r.method, "DELETE");
   * ```
   */
  get method(): string {
    return this.#raw.method;
  }

  /**
   * The request headers.
   *
   * @returns The web `Headers`.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { headers: { "X-A": "1" } }));
   * assert.equal(r.headers.get("x-a"), "1");
   * ```
   */
  get headers(): Headers {
    return this.#raw.headers;
  }

  /**
   * One header's value.
   *
   * @param name The header name, in any case.
   * @param fallback What to return when the header is absent.
   * @returns The value, or `fallback`.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", {
   *   method: "POST", body: "{}", headers: { "Content-Type": "application/json" },
   * }));
   * assert.equal(r.getHeader("content-type"), "application/json");
   * assert.equal(r.getHeader("x-missing", "none"), "none");
   * ```
   */
  getHeader<F extends string | undefined = undefined>(
    name: string,
    fallback?: F,
  ): string | F {
    return this.#raw.headers.get(name) ?? (fallback as F);
  }

  /**
   * The validated request target. Reading it (or anything built on it)
   * throws {@linkcode RequestParseError} for a malformed Host or path.
   */
  get #parsed(): Target {
    if (this.#target !== undefined) return this.#target;
    const record = this.#record;
    const host = hostOf(this.#raw, record);
    return this.#target = parseTarget(record.url ?? this.#raw.url, host);
  }

  /**
   * The request URL, with its path in canonical form.
   *
   * @returns A `URL` (a copy: changing it changes nothing here).
   * @throws {RequestParseError} When the Host or path is malformed.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/a/./b//c?q=1"));
   * assert.equal(r.url.href, "http://x.test/a/b/c?q=1");
   * ```
   */
  get url(): URL {
    const t = this.#parsed;
    this.#url ??= new URL(
      `${t.scheme}://${t.host}${t.path}${t.search ? "?" + t.search : ""}`,
    );
    return new URL(this.#url);
  }

  /**
   * The URL scheme, `http` or `https`.
   *
   * @returns The scheme.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Request(new globalThis.Request("https://x.test/")).scheme, "https");
   * ```
   */
  get scheme(): string {
    return this.#parsed.scheme;
  }

  /**
   * The validated `host[:port]` the request was sent to.
   *
   * @returns The host.
   * @throws {RequestParseError} When the Host is malformed.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Request(new globalThis.Request("http://x.test:8080/")).host, "x.test:8080");
   * ```
   */
  get host(): string {
    return this.#parsed.host;
  }

  /**
   * The query string's values, decoded as UTF-8 by the WHATWG urlencoded
   * parser (as `URLSearchParams`). Pairs split on `&` only; `+` is a
   * space; a blank value is kept as `""`; a `%` not followed by two hex
   * digits stays as it is; escaped bytes that are not valid UTF-8 become
   * U+FFFD.
   *
   * @returns The query values.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/?a=1;b=2&c=x+y&d&p=100%&e=%ff"));
   * assert.equal(r.query.get("a"), "1;b=2");
   * assert.equal(r.query.get("c"), "x y");
   * assert.equal(r.query.get("d"), "");
   * assert.equal(r.query.get("p"), "100%");
   * assert.equal(r.query.get("e"), "\uFFFD");
   * ```
   */
  get query(): MultiDict<string> {
    return this.#query ??= parseQuery(this.#parsed.search);
  }

  /**
   * The cookies the client sent, as `parseCookieHeader` reads them: values
   * percent-decoded, and text past ASCII that browsers send as raw UTF-8
   * bytes (which `Deno.serve` hands over one char per byte) decoded as
   * UTF-8. Never throws.
   *
   * @returns The cookie values by name (`get` gives the first of a name
   *   sent twice).
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", {
   *   headers: { cookie: "a=1; b=2; c=caf\u00c3\u00a9" },
   * }));
   * assert.equal(r.cookies.get("b"), "2");
   * assert.equal(r.cookies.get("c"), "caf\u00e9");
   * ```
   */
  get cookies(): MultiDict<string> {
    return this.#cookies ??= parseCookieHeader(this.#raw.headers.get("cookie"));
  }

  /**
   * The session of this request, loaded by `sessionMiddleware` (see
   * `session.ts`): JSON values by key, saved when changed.
   *
   * @returns The session.
   * @throws {TypeError} When the request did not go through
   *   `sessionMiddleware()`.
   * @throws {HttpError} A 503 (with `Retry-After`) when the session store
   *   could not be reached to load it.
   *
   * @example
   * ```ts
   * import { compose, Response, sessionMiddleware, toHandler } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const fetch = compose(sessionMiddleware())(toHandler((request) => {
   *   request.session.set("seen", true);
   *   return new Response(String(request.session.isNew));
   * }));
   * const r = await fetch(new globalThis.Request("http://x.test/"));
   * assert.equal(await r.text(), "true");
   * assert.match(r.headers.get("set-cookie")!, /^pesto_session=/);
   * ```
   */
  get session(): Session {
    const shared = this.#record.shared;
    if (shared?.sessionUnavailable) throw shared.sessionUnavailable;
    const session = shared?.session;
    if (session === undefined) {
      throw new TypeError(
        "Cannot read request.session: the request did not go through sessionMiddleware()",
      );
    }
    return session;
  }

  /**
   * Values that middlewares and handlers share for this request (WSGI's
   * environ extras, Hono's `c.var`, Oak's `ctx.state`): a request id, the
   * signed-in user. Every request the library derives from this one
   * (`mount`, `overlay`, `useXForwarded`) has the same map.
   *
   * @returns The map, empty at first.
   *
   * @example
   * ```ts
   * import { compose, type Middleware, Request, Response, toHandler } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const requestId: Middleware = (next) => (raw, info) => {
   *   new Request(raw).vars.set("requestId", "r-1");
   *   return next(raw, info);
   * };
   * const fetch = compose(requestId)(toHandler((request) =>
   *   new Response(String(request.vars.get("requestId")))
   * ));
   * assert.equal(await (await fetch(new globalThis.Request("http://x.test/"))).text(), "r-1");
   * ```
   */
  get vars(): Map<string, unknown> {
    return sharedOf(this.#record).vars ??= new Map();
  }

  /**
   * The decoded path prefix the application is mounted under (Pesto's
   * `SCRIPT_NAME`); `""` at the root.
   *
   * @returns The script name.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Request(new globalThis.Request("http://x.test/a")).scriptName, "");
   * ```
   */
  get scriptName(): string {
    return this.#options.scriptName ?? this.#record.scriptName ?? "";
  }

  /**
   * The decoded, canonical path below `scriptName` (Pesto's `PATH_INFO`):
   * `//` collapsed, `.` and `..` resolved, escapes decoded.
   *
   * @returns The path, starting with `/`.
   * @throws {RequestParseError} When the path has a bad escape, invalid
   *   UTF-8 or NUL.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/a/../caf%C3%A9/"));
   * assert.equal(r.pathInfo, "/caf\u00e9/");
   * ```
   */
  get pathInfo(): string {
    if (this.#pathInfo === undefined) {
      const full = this.requestPath;
      const script = this.scriptName;
      this.#pathInfo = underScript(full, script) ?? full;
    }
    return this.#pathInfo;
  }

  /**
   * The decoded path of the whole request (`scriptName` + `pathInfo`).
   *
   * @returns The path.
   * @throws {RequestParseError} When the path is malformed.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/app/a%20b"), { scriptName: "/app" });
   * assert.equal(r.requestPath, "/app/a b");
   * ```
   */
  get requestPath(): string {
    const t = this.#parsed;
    if (!t.path.includes("%")) return t.path;
    return "/" + t.segments!.join("/") + (t.trailingSlash ? "/" : "");
  }

  /**
   * The canonical path below `scriptName`, still percent-encoded: what
   * routing matches (so a `%2F` inside a segment never splits it).
   *
   * @returns The encoded path, starting with `/`.
   * @throws {RequestParseError} When the path is malformed.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/a%2fb//c%41"));
   * assert.equal(r.encodedPath, "/a%2Fb/cA");
   * ```
   */
  get encodedPath(): string {
    const path = this.#parsed.path;
    const script = this.scriptName;
    if (!script) return path;
    return underScript(path, encodePathText(script)) ?? path;
  }

  /**
   * The path's segments, each decoded once (a `%2F` inside a segment stays
   * inside it). Static files are looked up from these.
   *
   * @returns The non-empty segments.
   * @throws {RequestParseError} When the path is malformed.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/a%2Fb/c"));
   * assert.deepEqual(r.pathSegments, ["a/b", "c"]);
   * ```
   */
  get pathSegments(): readonly string[] {
    const t = this.#parsed;
    return t.segments ??= t.path.split("/").filter((s) => s !== "");
  }

  /**
   * The absolute URI of the request, query included.
   *
   * @returns The URI.
   * @throws {RequestParseError} When the Host or path is malformed.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/a?b=1"));
   * assert.equal(r.requestUri, "http://x.test/a?b=1");
   * ```
   */
  get requestUri(): string {
    const t = this.#parsed;
    return `${t.scheme}://${t.host}${t.path}${t.search ? "?" + t.search : ""}`;
  }

  /**
   * The absolute URI of the application: scheme, host and script name.
   *
   * @returns The URI, without a trailing slash unless at the root.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/app/page"), { scriptName: "/app" });
   * assert.equal(r.applicationUri, "http://x.test/app");
   * ```
   */
  get applicationUri(): string {
    const t = this.#parsed;
    return `${t.scheme}://${t.host}${encodePath(this.scriptName)}`;
  }

  /**
   * Builds an absolute URI from this request's parts, replacing the ones
   * given (Pesto's `make_uri`).
   *
   * @param options The parts to replace.
   * @returns The absolute URI.
   * @throws {TypeError} When `scheme` or `host` is malformed.
   * @throws {RequestParseError} When the request's Host or path is
   *   malformed.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/banana/milkshake?a=1"));
   * assert.equal(r.makeUri({ path: "pie" }), "http://x.test/banana/pie");
   * assert.equal(r.makeUri({ path: "../strawberry" }), "http://x.test/strawberry");
   * assert.equal(r.makeUri({ path: "/caff\u00e8 latte" }), "http://x.test/caff%C3%A8%20latte");
   * assert.equal(r.makeUri({ scheme: "https" }), "https://x.test/banana/milkshake?a=1");
   * assert.equal(
   *   r.makeUri({ path: "/s", query: { q: "a b", tag: ["x", "y"] }, fragment: "top" }),
   *   "http://x.test/s?q=a+b&tag=x&tag=y#top",
   * );
   * ```
   */
  makeUri(options: MakeUriOptions = {}): string {
    const t = this.#parsed;
    const scheme = options.scheme ?? t.scheme;
    const host = options.host ?? t.host;
    if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) {
      throw new TypeError(`Cannot make a URI: invalid scheme "${scheme}"`);
    }
    if (!isValidHost(host)) {
      throw new TypeError(`Cannot make a URI: invalid host "${host}"`);
    }
    let path: string;
    const pathGiven = options.path !== undefined ||
      options.scriptName !== undefined || options.pathInfo !== undefined;
    if (options.path !== undefined) {
      path = encodePath(resolvePath(this.requestPath, options.path));
    } else if (pathGiven) {
      path = encodePath(
        (options.scriptName ?? this.scriptName) +
          (options.pathInfo ?? this.pathInfo),
      );
    } else path = t.path;
    let query: string;
    if (options.query !== undefined) query = makeQuery(options.query);
    else query = pathGiven ? "" : t.search;
    if (query.startsWith("?")) query = query.slice(1);
    const fragment = options.fragment
      ? "#" + encodeFragment(options.fragment)
      : "";
    return `${scheme}://${host}${path}${query ? "?" + query : ""}${fragment}`;
  }

  /**
   * The client's address, from the connection (or from `X-Forwarded-For`
   * behind a trusted proxy, with `useXForwarded`).
   *
   * @returns The IP address, or `undefined` when unknown (in-process calls).
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Request(new globalThis.Request("http://x.test/")).remoteAddr, undefined);
   * ```
   */
  get remoteAddr(): string | undefined {
    const record = this.#record;
    if (record.remoteAddr !== undefined) return record.remoteAddr;
    const info = this.#options.info ?? record.info;
    return (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname;
  }

  /**
   * The `Referer` header.
   *
   * @returns The referring page, or `undefined`.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { headers: { referer: "http://x.test/a" } }));
   * assert.equal(r.referrer, "http://x.test/a");
   * ```
   */
  get referrer(): string | undefined {
    return this.#raw.headers.get("referer") ?? undefined;
  }

  /**
   * The `User-Agent` header.
   *
   * @returns The user agent, or `undefined`.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { headers: { "user-agent": "curl/8" } }));
   * assert.equal(r.userAgent, "curl/8");
   * ```
   */
  get userAgent(): string | undefined {
    return this.#raw.headers.get("user-agent") ?? undefined;
  }

  /**
   * The `Last-Event-ID` header: the `id` of the last server-sent event a
   * browser's `EventSource` received, sent when it reconnects (see
   * `Response.eventStream()`), so the stream can resume after it.
   *
   * @returns The id as sent, or `undefined` when the header is absent.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/events", { headers: { "last-event-id": "42" } }));
   * assert.equal(r.lastEventId, "42");
   * assert.equal(new Request(new globalThis.Request("http://x.test/")).lastEventId, undefined);
   * ```
   */
  get lastEventId(): string | undefined {
    return this.#raw.headers.get("last-event-id") ?? undefined;
  }

  /**
   * The media type of the body, lower case and without parameters.
   *
   * @returns For example `"application/json"`, or `undefined`.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", {
   *   method: "POST", body: "x", headers: { "content-type": "Text/Plain; charset=latin1" },
   * }));
   * assert.equal(r.contentType, "text/plain");
   * ```
   */
  get contentType(): string | undefined {
    const header = requestHeader(this.#raw, "content-type");
    if (!header) return undefined;
    const semi = header.indexOf(";");
    return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  }

  /**
   * The best of the given media types for the request's `Accept` header
   * (RFC 9110, 12.5.1), as Express's `req.accepts()` chooses it: each type
   * gets the weight (`q`) of the most specific range that matches it
   * (`text/html;level=1` over `text/html` over `text/*` over the range of
   * all types; the parameters of a range must be in the type); `q=0`, or no
   * matching range, makes a type unacceptable. The highest weight wins,
   * then the type matched by the more specific range, then the one whose
   * range the client listed first, then the one given first. No `Accept`
   * header accepts anything (the first type given); an empty one, nothing.
   * A malformed range in the header is skipped.
   *
   * @param types Media types the handler can answer with
   *   (`"application/json"`, `"text/html"`), in the order it prefers.
   * @returns The one to answer with, as given, or `undefined` when the
   *   client accepts none (answer 406, or a default).
   * @throws {TypeError} When a given type is not a media type (`"json"`).
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const browser = new Request(new globalThis.Request("http://x.test/", {
   *   headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*\/*;q=0.8" },
   * }));
   * assert.equal(browser.accepts("application/json", "text/html"), "text/html");
   * const api = new Request(new globalThis.Request("http://x.test/", {
   *   headers: { accept: "application/json" },
   * }));
   * assert.equal(api.accepts("text/html", "application/json"), "application/json");
   * assert.equal(api.accepts("text/html"), undefined);
   * const curl = new Request(new globalThis.Request("http://x.test/"));
   * assert.equal(curl.accepts("text/plain", "application/json"), "text/plain");
   * ```
   */
  accepts(...types: string[]): string | undefined {
    return preferredMediaType(requestHeader(this.#raw, "accept"), types);
  }

  /**
   * The charset the body's text is decoded with: the `charset` parameter of
   * `Content-Type`, else `UTF-8`. It may be set before the form is read.
   *
   * @returns The charset name.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/"));
   * assert.equal(r.charset, "UTF-8");
   * r.charset = "ISO-8859-1";
   * assert.equal(r.charset, "ISO-8859-1");
   * ```
   */
  get charset(): string {
    if (this.#charset === undefined) {
      const header = requestHeader(this.#raw, "content-type") ?? "";
      this.#charset = charsetParam(header) ?? "UTF-8";
    }
    return this.#charset;
  }

  /**
   * Sets the charset used to decode the body's text.
   *
   * @param value A charset name `TextDecoder` knows.
   */
  set charset(value: string) {
    this.#charset = value;
  }

  /**
   * The form: for GET, HEAD, DELETE and other body-less methods, the query
   * string; for POST, PUT and PATCH, the body (urlencoded or multipart), and
   * for a POST that `methodOverride()` made a DELETE too. Other body types
   * give an empty form. The result is cached.
   *
   * @returns The form values, in the order sent.
   * @throws {PayloadTooLarge} When the body exceeds a limit.
   * @throws {RequestParseError} When the body is malformed.
   * @throws {RequestTimeout} When the body does not arrive in time.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const get = new Request(new globalThis.Request("http://x.test/?q=pesto"));
   * assert.equal((await get.form()).get("q"), "pesto");
   *
   * const post = new Request(new globalThis.Request("http://x.test/?q=ignored", {
   *   method: "POST", body: "q=toast",
   *   headers: { "content-type": "application/x-www-form-urlencoded" },
   * }));
   * assert.equal((await post.form()).get("q"), "toast");
   * ```
   */
  form(): Promise<MultiDict<FormValue>> {
    if (!this.#form) {
      this.#form = this.#readForm();
      // A handler that never awaits its form must not crash the server.
      this.#form.catch(() => {});
    }
    return this.#form;
  }

  /** Whether the body is the form (the method may have been overridden). */
  #formInBody(): boolean {
    return BODY_METHODS.has(this.method) ||
      this.#record.shared?.originalMethod !== undefined;
  }

  async #readForm(): Promise<MultiDict<FormValue>> {
    if (!this.#formInBody()) {
      return this.query.copy() as MultiDict<FormValue>;
    }
    const type = this.contentType;
    if (type === "application/x-www-form-urlencoded" || type === undefined) {
      const limit = {
        value: this.#limits.maxUrlencodedSize,
        name: "maxUrlencodedSize",
      };
      const bytes = await this.#readBytes(limit, "Urlencoded body");
      return parseQuery(bytes, this.charset) as MultiDict<FormValue>;
    }
    if (type === "multipart/form-data") {
      const body = this.#body();
      if (!body.multipart) {
        body.multipart = readMultipart(this.#raw, {
          limits: this.#limits,
          charset: this.charset,
          record: this.#record,
          ownsBody: ownsBody(this.#raw, this.#record),
        });
        body.multipart.catch(() => {});
      }
      return await body.multipart;
    }
    return new MultiDict();
  }

  /**
   * The uploaded files of the form.
   *
   * @returns Only the file values of `form()`, in order.
   * @throws {PayloadTooLarge} When the body exceeds a limit.
   * @throws {RequestParseError} When the body is malformed.
   * @throws {RequestTimeout} When the body does not arrive in time.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const body = new FormData();
   * body.append("title", "Toast");
   * body.append("photo", new File(["..."], "toast.jpg", { type: "image/jpeg" }));
   * const r = new Request(new globalThis.Request("http://x.test/", { method: "POST", body }));
   * const files = await r.files();
   * assert.deepEqual([...files.keys()], ["photo"]);
   * assert.equal(files.get("photo")?.filename, "toast.jpg");
   * ```
   */
  async files(): Promise<MultiDict<FileUpload>> {
    const files = new MultiDict<FileUpload>();
    for (const [key, value] of await this.form()) {
      if (typeof value !== "string") files.append(key, value);
    }
    return files;
  }

  /**
   * The first form value of `name`.
   *
   * @param name The field name.
   * @returns The value, or `undefined`.
   * @throws {PayloadTooLarge} When the body exceeds a limit.
   * @throws {RequestParseError} When the body is malformed.
   * @throws {RequestTimeout} When the body does not arrive in time.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/?a=1&a=2"));
   * assert.equal(await r.get("a"), "1");
   * ```
   */
  async get(name: string): Promise<FormValue | undefined> {
    return (await this.form()).get(name);
  }

  /**
   * Every form value of `name`.
   *
   * @param name The field name.
   * @returns The values; empty when absent.
   * @throws {PayloadTooLarge} When the body exceeds a limit.
   * @throws {RequestParseError} When the body is malformed.
   * @throws {RequestTimeout} When the body does not arrive in time.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/?a=1&a=2"));
   * assert.deepEqual(await r.getAll("a"), ["1", "2"]);
   * ```
   */
  async getAll(name: string): Promise<FormValue[]> {
    return (await this.form()).getAll(name);
  }

  /**
   * Validates the request's data with a schema of any library that
   * implements Standard Schema v1 (zod, valibot, arktype, ...), and gives
   * what the schema gives, typed as its output.
   *
   * The data is, unless `options.from` says: the query for GET, HEAD and
   * DELETE (but the body for a POST that `methodOverride()` made a DELETE);
   * the body parsed as JSON when its type is `application/json` or ends in
   * `+json`; the form otherwise (`form()`: a urlencoded or multipart body).
   * A form or query is given as a plain object: a key sent once has its
   * value, a key sent more than once the array of its values (so a schema
   * for a multiple choice takes a string or an array); files are
   * {@linkcode FileUpload}s; every other value is a string, which the schema
   * may coerce (`z.coerce.number()`). Asynchronous schemas are awaited.
   *
   * @param schema A Standard Schema v1 schema.
   * @param options Where the data comes from.
   * @returns The schema's output.
   * @throws {ValidationError} (422) When the data does not pass, with the
   *   schema's issues; its response is JSON or text as the client accepts.
   * @throws {RequestParseError} When the body is malformed (bad JSON).
   * @throws {PayloadTooLarge} When the body exceeds a limit.
   * @throws {RequestTimeout} When the body does not arrive in time.
   * @throws {TypeError} When `schema` does not implement Standard Schema v1.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import { z } from "zod";
   * import assert from "node:assert/strict";
   *
   * const Search = z.object({ q: z.string().min(1), page: z.coerce.number().default(1) });
   * const app = new DispatcherApp();
   * app.match("/search", "GET", async (request) => {
   *   const { q, page } = await request.validate(Search); // { q: string; page: number }
   *   return new Response(`${q} p${page + 1}`);
   * });
   * const ok = await app.fetch(new globalThis.Request("http://x.test/search?q=toast&page=2"));
   * assert.equal(await ok.text(), "toast p3");
   * const bad = await app.fetch(new globalThis.Request("http://x.test/search?q=", {
   *   headers: { accept: "application/json" },
   * }));
   * assert.equal(bad.status, 422);
   * assert.deepEqual((await bad.json()).issues[0].path, ["q"]);
   * ```
   */
  async validate<S extends StandardSchemaV1>(
    schema: S,
    options: ValidateOptions = {},
  ): Promise<StandardSchemaV1.InferOutput<S>> {
    let from = options.from;
    if (from === undefined) {
      const type = this.contentType;
      from = !this.#formInBody() && QUERY_METHODS.has(this.method)
        ? "query"
        : type === "application/json" || type?.endsWith("+json")
        ? "json"
        : "form";
    }
    let value: unknown;
    if (from === "json") value = await this.json();
    else if (from === "query") value = formObject(this.query);
    else if (from === "form") value = formObject(await this.form());
    else {
      throw new TypeError(
        `Cannot validate from "${from}": use "query", "form" or "json"`,
      );
    }
    return await validateValue(schema, value, this);
  }

  /**
   * The body parsed as JSON.
   *
   * @returns The parsed value.
   * @throws {RequestParseError} When the body is not valid JSON.
   * @throws {PayloadTooLarge} When it exceeds `maxBodySize`.
   * @throws {RequestTimeout} When the body does not arrive in time.
   * @throws {TypeError} When the body was released: read again after the
   *   response was sent (see the module doc).
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { method: "POST", body: '{"a":1}' }));
   * assert.deepEqual(await r.json(), { a: 1 });
   * ```
   */
  async json(): Promise<unknown> {
    const text = await this.text();
    try {
      return JSON.parse(text);
    } catch (cause) {
      throw new RequestParseError("Malformed JSON body", { cause });
    }
  }

  /**
   * The body decoded as text with `charset` (invalid bytes become U+FFFD).
   *
   * @returns The text.
   * @throws {PayloadTooLarge} When it exceeds `maxBodySize`.
   * @throws {RequestParseError} When the charset is unknown.
   * @throws {RequestTimeout} When the body does not arrive in time.
   * @throws {TypeError} When the body was released: read again after the
   *   response was sent (see the module doc).
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { method: "PUT", body: "h\u00e9" }));
   * assert.equal(await r.text(), "h\u00e9");
   * ```
   */
  async text(): Promise<string> {
    const decoder = decoderFor(this.charset);
    return decoder.decode(await this.#wholeBody());
  }

  /**
   * The raw body, read whole within `maxBodySize` and `bodyTimeout`. It
   * may be read again (and `form()`, `json()` and `text()` after it), except
   * after `form()` streamed a multipart body.
   *
   * @returns The bytes (empty when there is no body).
   * @throws {PayloadTooLarge} When it exceeds `maxBodySize`.
   * @throws {RequestTimeout} When it does not arrive in time.
   * @throws {TypeError} When `form()` already streamed a multipart body, or
   *   when `text()`, `json()` or `form()` read it and it was released after
   *   the response was sent (see the module doc).
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { method: "POST", body: "abc" }));
   * assert.equal((await r.bytes()).length, 3);
   * ```
   */
  bytes(): Promise<Uint8Array> {
    this.#body().handedOut = true; // the caller may keep it
    return this.#wholeBody();
  }

  #wholeBody(): Promise<Uint8Array> {
    if (this.#body().multipart) {
      return Promise.reject(
        new TypeError(
          "Cannot read the body: form() streamed it as multipart/form-data",
        ),
      );
    }
    return this.#readBytes(
      { value: this.#limits.maxBodySize, name: "maxBodySize" },
      "Body",
    );
  }

  /** What was read of the body, shared with every request derived from it. */
  #body(): BodyRead {
    return sharedOf(this.#record).body ??= {};
  }

  // The body is read once; each reader checks it against its own limit.
  async #readBytes(limit: Limit, what: string): Promise<Uint8Array> {
    const body = this.#body();
    let reading = false;
    if (!body.bytes) {
      body.bytes = readLimited(this.#raw, limit, {
        timeout: this.#limits.bodyTimeout,
        what,
        ownsBody: ownsBody(this.#raw, this.#record),
      });
      body.bytes.catch(() => {});
      reading = true;
    }
    const bytes = await body.bytes;
    if (
      reading && bytes.byteLength >= RELEASE_MIN_SIZE &&
      ownsBody(this.#raw, this.#record)
    ) {
      releaseWhenSent(this.#record, body, bytes);
    }
    if (isReleased(bytes)) {
      throw new TypeError(
        "Cannot read the body after its response was sent: read it in the handler",
      );
    }
    if (bytes.byteLength > limit.value) {
      throw new PayloadTooLarge(
        `${what} over the limit of ${limit.value} bytes (${limit.name})`,
      );
    }
    return bytes;
  }
}

/**
 * Bodies of at least this many bytes are released once the response is
 * sent (see `release`); smaller ones are left to the garbage collector,
 * where they cost no measurable memory.
 */
const RELEASE_MIN_SIZE = 4096;

/**
 * Releases the body of a served request once its response has been sent,
 * unless `bytes()` handed it out; a read after that is a `TypeError`.
 */
function releaseWhenSent(
  record: RequestRecord,
  body: BodyRead,
  bytes: Uint8Array,
): void {
  beforeRequestDone(record, () => {
    if (!body.handedOut) release(bytes);
    return Promise.resolve();
  });
}

/** The part of `path` below `script` ("/" for `script` itself), if any. */
function underScript(path: string, script: string): string | undefined {
  if (!script || !path.startsWith(script)) return undefined;
  const rest = path.slice(script.length);
  if (rest === "") return "/";
  return rest.startsWith("/") || script.endsWith("/") ? rest : undefined;
}

function encodeFragment(fragment: string): string {
  return fragment.replace(
    /[^A-Za-z0-9._~!$&'()*+,;=:@/?-]/g,
    (c) => encodeURIComponent(c),
  );
}

/** Resolves `path` against the directory of `base`, browser-style. */
function resolvePath(base: string, path: string): string {
  const joined = path.startsWith("/")
    ? path
    : base.slice(0, base.lastIndexOf("/") + 1) + path;
  const out: string[] = [];
  const parts = joined.split("/");
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  const last = parts[parts.length - 1];
  const dir = out.length > 0 && (last === "" || last === "." || last === "..");
  return "/" + out.join("/") + (dir ? "/" : "");
}
