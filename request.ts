/**
 * Pesto's `Request`: everything a handler asks of an incoming request
 * (query and form values, cookies, headers and URIs) over the web `Request`,
 * with every read bounded by {@linkcode RequestLimits}.
 *
 * Bodies are read as they arrive and every read is bounded: urlencoded
 * forms, JSON and text within their size limits and `bodyTimeout`;
 * `multipart/form-data` is parsed while it streams in (never buffered
 * whole), text fields within `maxFieldSize`, files as
 * {@linkcode FileUpload}s held in memory up to `maxFileMemorySize` and
 * written to a temporary file above it. A limit exceeded is a 413 naming
 * the limit, a malformed body a 400, a stalled one a 408.
 *
 * A body is read in the handler, or by the response it returns. Once the
 * response of a request from `Deno.serve` has been sent, a body of 4 KiB or
 * more that `text()`, `json()` or `form()` read is released (its memory
 * freed at once rather than at some later garbage collection, which under
 * load comes too seldom for body buffers): reading it again then is a
 * `TypeError`. The values they returned stay, and so do the bytes that
 * `bytes()` handed out. The chunks of a streamed multipart body are
 * released as soon as the parser is done with them, and those of a body of
 * unknown length once joined.
 *
 * Differences from Python's Pesto (`pesto.request`): `form()` and `json()`
 * are async (bodies arrive as streams); `form()` reads the body for POST,
 * PUT and PATCH (Pesto: POST and PUT); query strings and urlencoded bodies
 * split on `&` only, and undecodable text becomes U+FFFD instead of an
 * error; a multipart part is a file when it has a `filename` (Pesto also
 * wants a `Content-Type`), and any boundary works (Pesto wants one starting
 * with `--`); `cookies` holds the values (not `Cookie` objects); `getHeader`
 * reads any header, `Content-Type` included; `contentType` is the media type
 * alone; and `makeUri` treats paths as text (it encodes `%`), drops the
 * current query when the path changes, and joins queries with `&` in the
 * order given.
 *
 * @example
 * ```ts
 * import { Request } from "@pesto/pesto/request";
 * import assert from "node:assert/strict";
 *
 * const request = new Request(
 *   new globalThis.Request("http://example.com/recipes/caff%C3%A8?page=2&tag=a&tag=b", {
 *     headers: { cookie: "theme=dark" },
 *   }),
 * );
 * assert.equal(request.pathInfo, "/recipes/caff\u00e8");
 * assert.equal(request.query.get("page"), "2");
 * assert.deepEqual(request.query.getAll("tag"), ["a", "b"]);
 * assert.equal(request.cookies.get("theme"), "dark");
 * assert.equal(request.makeUri({ path: "/" }), "http://example.com/");
 * ```
 *
 * @module
 */
import { hostHeader, isServed, requestHeader } from "./_host_header.ts";
import { MultiDict } from "./multidict.ts";
import { parseCookieHeader } from "./cookies.ts";
import type { FileUpload } from "./upload.ts";
import {
  LengthRequired,
  PayloadTooLarge,
  RequestParseError,
  RequestTimeout,
} from "./_errors.ts";
import {
  encodePathText,
  isValidHost,
  parseTarget,
  type Target,
} from "./_path.ts";
import { decoderFor, latin1, type Limit, readLimited } from "./_body.ts";
import { isReleased, release } from "./_release.ts";
import { readMultipart } from "./_multipart.ts";
import {
  beforeRequestDone,
  internals,
  type RequestOverrides,
  requestOverrides,
} from "./_context.ts";
import type { Session } from "./session.ts";
import { sessionOf } from "./_session_state.ts";

export { LengthRequired, PayloadTooLarge, RequestParseError, RequestTimeout };

/**
 * Limits on what a request may send. Each has a safe default; exceeding one
 * answers 413 (408 for `bodyTimeout`), never a silent truncation.
 */
export interface RequestLimits {
  /**
   * Bytes of any body read whole (`json()`, `text()`, `bytes()`).
   * @default {1048576}
   */
  maxBodySize?: number;
  /**
   * Bytes of an `application/x-www-form-urlencoded` body.
   * @default {1048576}
   */
  maxUrlencodedSize?: number;
  /**
   * Bytes of one non-file multipart field.
   * @default {1048576}
   */
  maxFieldSize?: number;
  /**
   * Bytes of a whole `multipart/form-data` body.
   * @default {67108864}
   */
  maxMultipartSize?: number;
  /**
   * Parts in one multipart body.
   * @default {1000}
   */
  maxParts?: number;
  /**
   * Files in one multipart body.
   * @default {20}
   */
  maxFiles?: number;
  /**
   * Bytes of one uploaded file.
   * @default {33554432}
   */
  maxFileSize?: number;
  /**
   * Bytes of an uploaded file held in memory: a larger file is written to
   * a temporary file as it arrives (removed once the response is sent).
   * @default {65536}
   */
  maxFileMemorySize?: number;
  /**
   * Bytes of the headers of one multipart part.
   * @default {8192}
   */
  maxPartHeaderSize?: number;
  /**
   * Milliseconds to wait for the whole body before answering 408.
   * @default {30000}
   */
  bodyTimeout?: number;
}

/** The default {@linkcode RequestLimits}. */
export const DEFAULT_LIMITS: Readonly<Required<RequestLimits>> = Object.freeze({
  maxBodySize: 1024 * 1024,
  maxUrlencodedSize: 1024 * 1024,
  maxFieldSize: 1024 * 1024,
  maxMultipartSize: 64 * 1024 * 1024,
  maxParts: 1000,
  maxFiles: 20,
  maxFileSize: 32 * 1024 * 1024,
  maxFileMemorySize: 64 * 1024,
  maxPartHeaderSize: 8 * 1024,
  bodyTimeout: 30_000,
});

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

/** Data for a query string. Arrays repeat a key; `null`/`undefined` skip it. */
export type QueryInit =
  | string
  | MultiDict<string>
  | Iterable<readonly [string, string]>
  | Record<
    string,
    | string
    | number
    | boolean
    | readonly (string | number | boolean)[]
    | null
    | undefined
  >;

/** A value of a parsed form: text, or an uploaded file. */
export type FormValue = string | FileUpload;

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

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
  #overrides?: RequestOverrides;
  #hostHeader?: string | null;

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
    this.#overrides = (raw as unknown as Record<symbol, RequestOverrides>)[
      requestOverrides.key
    ];
    this.#limits = options.limits
      ? { ...DEFAULT_LIMITS, ...definedOnly(options.limits) }
      : DEFAULT_LIMITS;
  }

  static {
    internals.setLimits = (request, limits) => {
      request.#limits = { ...request.#limits, ...definedOnly(limits) };
    };
    internals.served = (raw, options, host) => {
      const request = new Request(raw, options);
      request.#hostHeader = host;
      return request;
    };
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
    const o = this.#overrides;
    const host = o?.host !== undefined
      ? o.host
      : this.#hostHeader !== undefined
      ? this.#hostHeader
      : hostHeader(this.#raw);
    return this.#target = parseTarget(o?.url ?? this.#raw.url, host);
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
   * The query string's values, decoded as UTF-8. Pairs split on `&` only;
   * `+` is a space; a blank value is kept as `""`; a bad escape or invalid
   * UTF-8 becomes U+FFFD.
   *
   * @returns The query values.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/?a=1;b=2&c=x+y&d"));
   * assert.equal(r.query.get("a"), "1;b=2");
   * assert.equal(r.query.get("c"), "x y");
   * assert.equal(r.query.get("d"), "");
   * ```
   */
  get query(): MultiDict<string> {
    return this.#query ??= parseQuery(this.#parsed.search);
  }

  /**
   * The cookies the client sent (values percent-decoded). Never throws.
   *
   * @returns The cookie values by name.
   *
   * @example
   * ```ts
   * import { Request } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new Request(new globalThis.Request("http://x.test/", { headers: { cookie: "a=1; b=2" } }));
   * assert.equal(r.cookies.get("b"), "2");
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
    const session = sessionOf.get(this.#raw);
    if (session === undefined) {
      throw new TypeError(
        "Cannot read request.session: the request did not go through sessionMiddleware()",
      );
    }
    return session;
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
    return this.#options.scriptName ?? this.#overrides?.scriptName ?? "";
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
    if (this.#overrides?.remoteAddr !== undefined) {
      return this.#overrides.remoteAddr;
    }
    const addr = this.#options.info?.remoteAddr as Deno.NetAddr | undefined;
    return addr?.hostname;
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
      this.#charset = /;\s*charset\s*=\s*"?([\w.:-]+)"?/i.exec(header)?.[1] ??
        "UTF-8";
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
   * string; for POST, PUT and PATCH, the body (urlencoded or multipart).
   * Other body types give an empty form. The result is cached.
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

  async #readForm(): Promise<MultiDict<FormValue>> {
    if (!BODY_METHODS.has(this.method)) {
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
      const body = bodyOf(this.#raw);
      if (!body.multipart) {
        body.multipart = readMultipart(this.#raw, this.#limits, this.charset);
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
    bodyOf(this.#raw).handedOut = true; // the caller may keep it
    return this.#wholeBody();
  }

  #wholeBody(): Promise<Uint8Array> {
    if (bodyOf(this.#raw).multipart) {
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

  // The body is read once; each reader checks it against its own limit.
  async #readBytes(limit: Limit, what: string): Promise<Uint8Array> {
    const body = bodyOf(this.#raw);
    let reading = false;
    if (!body.bytes) {
      body.bytes = readLimited(
        this.#raw,
        limit,
        this.#limits.bodyTimeout,
        what,
      );
      body.bytes.catch(() => {});
      reading = true;
    }
    const bytes = await body.bytes;
    if (
      reading && bytes.byteLength >= RELEASE_MIN_SIZE && isServed(this.#raw)
    ) {
      releaseWhenSent(this.#raw, body, bytes);
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

// What was read of a web request's body, shared by every Pesto Request
// that wraps it (a middleware's and the app's), since a body streams once.
interface BodyRead {
  bytes?: Promise<Uint8Array>;
  multipart?: Promise<MultiDict<FormValue>>;
  /** `bytes()` gave the bytes to the application. */
  handedOut?: boolean;
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
  raw: globalThis.Request,
  body: BodyRead,
  bytes: Uint8Array,
): void {
  beforeRequestDone(raw, () => {
    if (!body.handedOut) release(bytes);
    return Promise.resolve();
  });
}
// Kept under a private symbol on the web request (cheaper than a WeakMap).
const kBody = Symbol("pesto.body");

function bodyOf(raw: globalThis.Request): BodyRead {
  const holder = raw as { [kBody]?: BodyRead };
  return holder[kBody] ??= {};
}

/** The part of `path` below `script` ("/" for `script` itself), if any. */
function underScript(path: string, script: string): string | undefined {
  if (!script || !path.startsWith(script)) return undefined;
  const rest = path.slice(script.length);
  if (rest === "") return "/";
  return rest.startsWith("/") || script.endsWith("/") ? rest : undefined;
}

function definedOnly(limits: RequestLimits): RequestLimits {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(limits)) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Parses a query string or an urlencoded body. Pairs split on `&` only (a
 * `;` is part of the value, as in WHATWG URLs); `+` is a space; a pair
 * without `=` has the value `""`; empty pairs are skipped; a bad escape or
 * invalid text in the charset becomes U+FFFD. It never throws on the input.
 *
 * @param input The text (without `?`) or the body bytes.
 * @param charset The charset of escaped bytes (and of `input` when bytes).
 * @returns The values, in order.
 * @throws {RequestParseError} When `charset` is unknown.
 *
 * @example
 * ```ts
 * import { parseQuery } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const q = parseQuery("a=1&b=x%20y+z&a=%E2%82%AC&bad=%zz&c");
 * assert.deepEqual(q.getAll("a"), ["1", "\u20ac"]);
 * assert.equal(q.get("b"), "x y z");
 * assert.equal(q.get("bad"), "\uFFFDzz");
 * assert.equal(q.get("c"), "");
 * ```
 */
export function parseQuery(
  input: string | Uint8Array,
  charset = "UTF-8",
): MultiDict<string> {
  const decoder = decoderFor(charset);
  // UTF-8 bytes are decoded natively first; other charsets go through a
  // latin1 string (one char per byte) so that literal and escaped bytes
  // decode alike.
  const utf8 = decoder.encoding === "utf-8";
  const fromBytes = typeof input !== "string" && !utf8;
  const text = typeof input === "string"
    ? input
    : utf8
    ? decoder.decode(input)
    : latin1(input);
  const out = new MultiDict<string>();
  if (text === "") return out;
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? "" : pair.slice(eq + 1);
    out.append(
      decodeComponent(key, decoder, fromBytes),
      decodeComponent(value, decoder, fromBytes),
    );
  }
  return out;
}

const PLUS = /\+/g;

function decodeComponent(
  text: string,
  decoder: TextDecoder,
  fromBytes: boolean,
): string {
  if (text.includes("+")) text = text.replace(PLUS, " ");
  const ascii = !fromBytes || !/[^\u0020-\u007e]/.test(text);
  if (!text.includes("%") && ascii) return text;
  if (decoder.encoding === "utf-8" && !fromBytes) {
    try {
      return decodeURIComponent(text);
    } catch { /* fall through to the lenient decoder */ }
  }
  const bytes: number[] = [];
  let out = "";
  const flush = () => {
    if (bytes.length) out += decoder.decode(new Uint8Array(bytes));
    bytes.length = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        flush();
        out += "\uFFFD";
      }
    } else if (fromBytes || c < 0x80) {
      bytes.push(c & 0xff);
    } else {
      flush();
      out += text[i];
    }
  }
  flush();
  return out;
}

/**
 * Builds a query string (without `?`) from data: pairs joined by `&` in the
 * order given, keys and values encoded as `application/x-www-form-urlencoded`
 * (space as `+`). A string is returned as it is.
 *
 * @param data A record (arrays repeat a key, `null`/`undefined` skip it), a
 *   `MultiDict`, pairs, or a string.
 * @returns The query string.
 *
 * @example
 * ```ts
 * import { makeQuery } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(makeQuery({ q: "a&b c", tag: ["x", "y"], skip: null }), "q=a%26b+c&tag=x&tag=y");
 * assert.equal(makeQuery([["a", "1"], ["a", "2"]]), "a=1&a=2");
 * ```
 */
export function makeQuery(data: QueryInit): string {
  if (typeof data === "string") return data;
  const params = new URLSearchParams();
  const pairs = data instanceof MultiDict || Symbol.iterator in data
    ? data as Iterable<readonly [string, string]>
    : Object.entries(data).flatMap(([key, value]) =>
      value === null || value === undefined
        ? []
        : Array.isArray(value)
        ? value.map((v) => [key, String(v)] as const)
        : [[key, String(value)] as const]
    );
  for (const [key, value] of pairs) params.append(key, value);
  return params.toString();
}

/**
 * Percent-encodes a decoded path for a URL: `/` is kept, everything outside
 * the RFC 3986 path characters is encoded, `%` included.
 *
 * @param path A decoded path.
 * @returns The encoded path.
 * @throws {TypeError} When the path holds a lone surrogate.
 *
 * @example
 * ```ts
 * import { encodePath } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodePath("/caff\u00e8 latte/100%"), "/caff%C3%A8%20latte/100%25");
 * ```
 */
export function encodePath(path: string): string {
  if (!path.isWellFormed()) {
    throw new TypeError(
      "Cannot encode the path: it holds a lone surrogate, which no URL can carry",
    );
  }
  return encodePathText(path);
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
