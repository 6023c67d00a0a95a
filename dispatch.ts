/**
 * `DispatcherApp` maps URLs to handlers with Pesto's converter-typed URL
 * grammar, and builds URLs back from routes (reverse routing).
 *
 * Patterns are paths with placeholders `<name:converter>`:
 * `/recipes/<recipe:unicode>`, `/posts/<id:int>`, `/files/<p:path>`,
 * `/<page:any('about', 'help')>.html`, `/y/<:int>` (anonymous, numbered).
 * The params object a handler receives, and that `url()` takes, is typed
 * from the pattern string: `<id:int>` gives `{ id: number }`.
 *
 * Rules, as in Pesto: the first registered route that matches wins; `/foo`
 * and `/foo/` are different routes; paths are normalised (`//`, `.`, `..`)
 * without a redirect; HEAD is served by GET; a path that matches only under
 * other methods is a 405 with a sorted `Allow` header (and OPTIONS is
 * answered with it); otherwise 404.
 *
 * Matching works on the canonical, still percent-encoded path
 * (`request.encodedPath`), one segment at a time: a placeholder other than
 * `path` never spans a `/`, so `%2F` inside a value never splits segments;
 * values are percent-decoded once matched, then given to the converter's
 * `parse` (a `parse` that throws means "no match"). Literal text is written
 * decoded (`"/caf\u00e9"`, not `"/caf%C3%A9"`) and matched exactly. Routes
 * are compiled, per method and on first use after a change, into a tree of
 * segments with a map of the static paths, so the time to find a route
 * hardly grows with the number of routes.
 *
 * Differences from Python's Pesto (`pesto.dispatch`): handlers take
 * `(request, params)`, anonymous placeholders included (`params[0]`);
 * converters are registered per app (no global registry); converter
 * arguments are parsed (quoted strings, `r'...'` too), never `eval`ed; a
 * malformed pattern, an unknown converter, a regex with capturing groups, a
 * `<name>` without a converter and a route that an earlier one makes
 * unreachable throw at registration; values are matched before decoding;
 * method names are case-insensitive; `Allow` is sorted; `url()`
 * percent-encodes values and throws {@linkcode URLGenerationError} for
 * missing or unformattable ones (Pesto raised a bare `KeyError`); query
 * strings it builds use `&`; `float` and `uuid` are built in.
 *
 * Handlers that build URLs of each other's routes need an explicit return
 * type (`(): Response => ...`): otherwise TypeScript reports a circular
 * inference between the two routes' types.
 *
 * @example
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * const show = app.match("/recipes/<recipe:unicode>", "GET", (request, { recipe }) =>
 *   new Response(`<h1>${recipe}</h1>`)
 * );
 * const response = await app.fetch(new Request("http://localhost/recipes/toast"));
 * assert.equal(await response.text(), "<h1>toast</h1>");
 * assert.equal(show.path({ recipe: "pesto genovese" }), "/recipes/pesto%20genovese");
 * ```
 *
 * @module
 */
import { hostHeader } from "./_host_header.ts";
import { internals, requestContext } from "./_context.ts";
import { HttpError } from "./_errors.ts";
import { encodePathText, encodeSegment, isValidHost } from "./_path.ts";
import {
  checkRegex,
  type Converter,
  encodeLiteral,
  escapeRegex,
  identity,
  NEVER,
  type ParsedPattern,
  parseInteger,
  parsePattern,
} from "./_route_parser.ts";
import { NO_PARAMS, Router } from "./_router.ts";
import { runHandler, settle } from "./_run.ts";
import type {
  FetchHandler,
  Handler,
  HandlerResult,
  ToHandlerOptions,
} from "./core.ts";
import {
  makeQuery,
  type QueryInit,
  Request,
  type RequestLimits,
} from "./request.ts";
import { Response } from "./response.ts";

export type { Converter } from "./_route_parser.ts";

// ---------------------------------------------------------------------------
// Types carried from the pattern string

/** The converter name of a placeholder spec such as `int('\\d+')`. */
export type ConverterName<S extends string> = S extends `${infer N}(${string}`
  ? N
  : S;

/**
 * The value type a converter gives: its own for custom converters, `number`
 * for `int` and `float`, `string` for the others.
 */
export type ConverterValue<Name extends string, C> = Name extends keyof C
  ? C[Name] extends Converter<infer T> ? T : string
  : Name extends "int" | "float" ? number
  : string;

/**
 * Walks a pattern's placeholders, adding each to `Acc`; `N` counts the
 * anonymous ones. Used by {@linkcode RouteParams}.
 */
export type CollectParams<P extends string, C, Acc, N extends unknown[]> =
  P extends `${string}<${infer Name}:${infer Rest}`
    ? Rest extends `${infer Spec}>${infer Tail}`
      ? Name extends "" ? CollectParams<
          Tail,
          C,
          Acc & { [K in N["length"]]: ConverterValue<ConverterName<Spec>, C> },
          [...N, unknown]
        >
      : CollectParams<
        Tail,
        C,
        Acc & { [K in Name]: ConverterValue<ConverterName<Spec>, C> },
        N
      >
    : Acc
    : Acc;

/**
 * The params object of a pattern: `RouteParams<"/r/<name:unicode>/<id:int>">`
 * is `{ name: string; id: number }`; anonymous placeholders are keyed by
 * their position among the anonymous ones (`0`, `1`, ...).
 *
 * @typeParam P The pattern string.
 * @typeParam C The app's custom converters.
 */
// deno-lint-ignore ban-types
export type RouteParams<P extends string, C = {}> = Simplify<
  CollectParams<P, C, unknown, []>
>;

/** Flattens an intersection into one object type, for readable hovers. */
export type Simplify<T> = { [K in keyof T]: T[K] } & unknown;

/** A routed handler: called with the request and the URL params. */
export type RouteHandler<P> = (request: Request, params: P) => HandlerResult;

/** Handlers by HTTP method, for `app.match(pattern, { GET: f, POST: g })`. */
export type MethodHandlers<P> = { [method: string]: RouteHandler<P> };

/** Wraps a handler: `decorators: [a, b]` route `a(b(handler))`. */
// deno-lint-ignore no-explicit-any
export type Decorator = (handler: Handler<any[]>) => Handler<any[]>;

/** Options of `app.match()`. */
export interface RouteOptions {
  /**
   * A name for `app.urlfor(name, ...)`; unique within the app.
   * @default {undefined} (no name)
   */
  name?: string;
  /**
   * The route is skipped when this returns (or resolves to) `false`; the
   * next matching route is tried.
   * @default {undefined} (always taken)
   */
  predicate?: (request: Request) => boolean | Promise<boolean>;
  /**
   * Wrappers for this route's handlers: `[a, b]` gives `a(b(handler))`.
   * @default {[]}
   */
  decorators?: Decorator[];
  /**
   * Request limits for this route (each given value wins over the app's).
   * @default {undefined} (the app's limits)
   */
  limits?: RequestLimits;
}

/** Options of `route.url()` and `app.urlfor()`. */
export interface UrlOptions {
  /**
   * A query string, or data to encode into one (joined with `&`).
   * @default {undefined} (no query)
   */
  query?: QueryInit;
  /**
   * A fragment, without `#`; it is percent-encoded.
   * @default {undefined} (no fragment)
   */
  fragment?: string;
  /**
   * The scheme.
   * @default {undefined} (the current request's, else `"http"`)
   */
  scheme?: string;
  /**
   * `host[:port]`. Needed outside a request.
   * @default {undefined} (the current request's)
   */
  host?: string;
  /**
   * The decoded script name the app is mounted under.
   * @default {undefined} (the current request's, else `""`)
   */
  scriptName?: string;
}

/** `url()`'s arguments: params are optional only when the pattern has none. */
// deno-lint-ignore ban-types
export type UrlArgs<P> = {} extends P ? [params?: P, options?: UrlOptions]
  : [params: P, options?: UrlOptions];

/** `path()`'s arguments: params are optional only when the pattern has none. */
// deno-lint-ignore ban-types
export type PathArgs<P> = {} extends P ? [params?: P] : [params: P];

/** Options of `new DispatcherApp(options)`. */
export interface DispatcherOptions<C> {
  /**
   * Literal text put before every pattern given to `match()`.
   * @default {""}
   */
  prefix?: string;
  /**
   * Custom converters by name (identifiers); they may replace built-in
   * ones, in this app only.
   * @default {{}}
   */
  converters?: C;
  /**
   * Request limits for every route.
   * @default {undefined} (`DEFAULT_LIMITS`)
   */
  limits?: RequestLimits;
  /**
   * Answers when no route matches the path.
   * @default {undefined} (`Response.notFound()`)
   */
  notFound?: (request: Request) => HandlerResult;
  /**
   * Answers when routes match the path but not the method, with the
   * allowed methods, sorted.
   * @default {undefined} (`Response.methodNotAllowed(allowed)`)
   */
  methodNotAllowed?: (request: Request, allowed: string[]) => HandlerResult;
  /**
   * Put errors and stacks in 500 bodies (for development only).
   * @default {false}
   */
  debug?: boolean;
  /**
   * Called with each error that becomes a 500, instead of `console.error`.
   * @default {undefined} (`console.error`)
   */
  onError?: (error: unknown, request: Request) => void;
}

/** A route as listed by `app.routes()`. */
export interface RouteInfo {
  /** The methods it answers, HEAD included where GET is. */
  methods: string[];
  /** The full pattern (prefix included). */
  pattern: string;
  /** Its name, if any. */
  name?: string;
}

// ---------------------------------------------------------------------------
// Errors

/**
 * A URL could not be built: a param is missing, or its value cannot be
 * formatted by its converter.
 *
 * @example
 * ```ts
 * import { DispatcherApp, Response, URLGenerationError } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * const route = app.match("/n/<n:int>", "GET", () => new Response(""));
 * assert.throws(() => route.path({ n: 1.5 }), URLGenerationError);
 * ```
 */
export class URLGenerationError extends Error {
  /**
   * Creates the error.
   *
   * @param message What could not be built, and why.
   *
   * @example
   * ```ts
   * import { URLGenerationError } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new URLGenerationError("x").name, "URLGenerationError");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "URLGenerationError";
  }
}

/**
 * `app.urlfor()` was given a name no route has.
 *
 * @example
 * ```ts
 * import { DispatcherApp, NamedRouteNotFound } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => new DispatcherApp().urlfor("nope", {}, { host: "x" }), NamedRouteNotFound);
 * ```
 */
export class NamedRouteNotFound extends Error {
  /**
   * Creates the error.
   *
   * @param name The unknown route name.
   *
   * @example
   * ```ts
   * import { NamedRouteNotFound } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.match(new NamedRouteNotFound("home").message, /"home"/);
   * ```
   */
  constructor(name: string) {
    super(`Cannot build a URL: no route is named "${name}"`);
    this.name = "NamedRouteNotFound";
  }
}

// ---------------------------------------------------------------------------
// Built-in converters

const FLOAT_RE = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const UUID_RE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function formatError(what: string, value: unknown): never {
  throw new TypeError(
    `${what}, got ${typeof value === "string" ? `"${value}"` : String(value)}`,
  );
}

const unicodeConverter: Converter<string> = {
  pattern: "[^/]+",
  parse: identity,
  format: (value) =>
    typeof value === "string" ? value : formatError("expected a string", value),
};

/**
 * The converters every `DispatcherApp` knows: `int` (signed integer),
 * `float`, `unicode` (one segment of text), `path` (text spanning
 * segments), `any('a', 'b', ...)` (one of the alternatives) and `uuid`.
 *
 * @example
 * ```ts
 * import { BUILTIN_CONVERTERS } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(BUILTIN_CONVERTERS.int.parse("-42"), -42);
 * assert.equal(BUILTIN_CONVERTERS.uuid.format("0B8F6C48-8D3A-4B1E-9E5A-2C1D3E4F5A6B"),
 *   "0b8f6c48-8d3a-4b1e-9e5a-2c1d3e4f5a6b");
 * ```
 */
export const BUILTIN_CONVERTERS: {
  readonly int: Converter<number>;
  readonly float: Converter<number>;
  readonly unicode: Converter<string>;
  readonly path: Converter<string>;
  readonly any: Converter<string>;
  readonly uuid: Converter<string>;
} = Object.freeze({
  int: {
    pattern: "[+-]?\\d+",
    parse: parseInteger,
    format: (value: number) =>
      Number.isSafeInteger(value)
        ? String(value)
        : formatError("expected a safe integer", value),
  },
  float: {
    pattern: "[+-]?(?:\\d+(?:\\.\\d+)?|\\.\\d+)(?:[eE][+-]?\\d+)?",
    parse(text: string): number {
      const n = Number(text);
      if (!FLOAT_RE.test(text) || !Number.isFinite(n)) {
        throw new RangeError("not a finite number");
      }
      return n === 0 ? 0 : n;
    },
    format: (value: number) =>
      typeof value === "number" && Number.isFinite(value)
        ? String(value === 0 ? 0 : value)
        : formatError("expected a finite number", value),
  },
  unicode: unicodeConverter,
  path: {
    pattern: ".+",
    spansSegments: true,
    parse: identity,
    format(value: string): string {
      if (typeof value !== "string") formatError("expected a string", value);
      const segments = value.split("/");
      if (segments.length > 1 && segments.at(-1) === "") segments.pop();
      if (segments.some((s) => s === "" || s === "." || s === "..")) {
        formatError(
          "expected a path without empty, '.' or '..' segments",
          value,
        );
      }
      return value;
    },
  },
  any: {
    pattern: NEVER,
    parse: (text: string) => text,
    format: unicodeConverter.format,
    withArgs(...alternatives: string[]): Converter<string> {
      if (alternatives.length === 0) {
        throw new TypeError("any() needs at least one alternative");
      }
      if (alternatives.includes("")) {
        throw new TypeError("any() cannot take an empty alternative");
      }
      const allowed = new Set(alternatives);
      return {
        pattern: alternatives.map((a) => escapeRegex(encodeSegment(a))).join(
          "|",
        ),
        parse: (text) => {
          if (!allowed.has(text)) throw new RangeError("not an alternative");
          return text;
        },
        format: (value) =>
          allowed.has(value)
            ? value
            : formatError(`expected one of ${alternatives.join(", ")}`, value),
      };
    },
  },
  uuid: {
    pattern:
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    parse: (text: string) => text.toLowerCase(),
    format: (value: string) =>
      typeof value === "string" && UUID_RE.test(value)
        ? value.toLowerCase()
        : formatError("expected a UUID", value),
  },
});

function checkConverter(name: string, converter: unknown): void {
  const fail = (why: string): never => {
    throw new TypeError(`Cannot use converter "${name}": ${why}`);
  };
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    fail("its name is not an identifier");
  }
  if (typeof converter !== "object" || converter === null) {
    fail("it is not an object");
  }
  const c = converter as Partial<Converter>;
  if (typeof c.parse !== "function" || typeof c.format !== "function") {
    fail("it needs parse() and format() functions");
  }
  if (c.withArgs !== undefined && typeof c.withArgs !== "function") {
    fail("its withArgs is not a function");
  }
  checkRegex(c.pattern, fail);
}

// ---------------------------------------------------------------------------
// Routes

/** What a URL is built for, in messages: the route's name and pattern. */
function describe(pattern: string, name: string | undefined): string {
  return name === undefined
    ? `route "${pattern}"`
    : `route "${name}" ("${pattern}")`;
}

/** The encoded path of `parsed` for `params`. */
function buildPath(
  parsed: ParsedPattern,
  params: unknown,
  name: string | undefined,
): string {
  const values =
    (typeof params === "object" && params !== null ? params : {}) as Record<
      string | number,
      unknown
    >;
  let out = "";
  for (const token of parsed.tokens) {
    if (token.kind === "literal") {
      out += encodeLiteral(token.text);
      continue;
    }
    const fail = (why: string): never => {
      throw new URLGenerationError(
        `Cannot build a URL for ${describe(parsed.source, name)}: ${why}`,
      );
    };
    const value = values[token.key];
    if (value === undefined) fail(`missing value for ${token.source}`);
    let text: string;
    try {
      text = token.converter.format(value);
    } catch (error) {
      return fail(
        `bad value ${show(value)} for ${token.source}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    if (typeof text !== "string") {
      fail(`the converter of ${token.source} did not format ${show(value)}`);
    }
    if (text.includes("\0")) {
      fail(`the value ${show(value)} for ${token.source} holds a NUL`);
    }
    let encoded: string;
    try {
      encoded = token.converter.spansSegments === true
        ? encodePathText(text)
        : encodeSegment(text);
    } catch {
      return fail(
        `the value ${show(value)} for ${token.source} is not well-formed text`,
      );
    }
    if (!token.check.test(encoded)) {
      fail(
        `the value ${show(value)} does not match ${token.source} once encoded`,
      );
    }
    out += encoded;
  }
  const segments = out.split("/");
  if (
    segments.some((s, i) =>
      i > 0 &&
      (s === "." || s === ".." || (s === "" && i < segments.length - 1))
    )
  ) {
    throw new URLGenerationError(
      `Cannot build a URL for ${
        describe(parsed.source, name)
      }: the path "${out}" has empty, "." or ".." segments, which requests never keep`,
    );
  }
  return out;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "object" && value !== null) {
    return Array.isArray(value) ? "an array" : "an object";
  }
  return String(value);
}

/**
 * A registered route: its pattern, name and handler, and the builders of
 * its URL. Returned by `app.match()`.
 *
 * @typeParam P The params object, typed from the pattern.
 *
 * @example
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * const post = app.match("/posts/<id:int>", "GET", (_req, { id }) => new Response(`#${id}`), {
 *   name: "post",
 * });
 * assert.equal(post.name, "post");
 * assert.equal(post.path({ id: 7 }), "/posts/7");
 * assert.equal(post.url({ id: 7 }, { host: "blog.test", query: { ref: "rss" } }),
 *   "http://blog.test/posts/7?ref=rss");
 * ```
 */
export class Route<P = Record<string, unknown>> {
  /** The full pattern, prefix included. */
  readonly pattern: string;
  /** The route's name, if it has one. */
  readonly name?: string;
  /** The handler (the first one, for `match(pattern, { GET: ..., POST: ... })`). */
  readonly handler: RouteHandler<P>;
  /** The handlers by method, before decorators. */
  readonly handlers: Readonly<Record<string, RouteHandler<P>>>;
  #build: (params?: Record<string | number, unknown>) => string;

  /**
   * Made by `app.match()`; not called directly.
   *
   * @param pattern The full pattern.
   * @param build Builds the encoded path from params.
   * @param handlers The handlers by method.
   * @param name The route's name.
   */
  constructor(
    pattern: string,
    build: (params?: Record<string | number, unknown>) => string,
    handlers: Record<string, RouteHandler<P>>,
    name?: string,
  ) {
    this.pattern = pattern;
    this.#build = build;
    this.handlers = Object.freeze({ ...handlers });
    this.handler = Object.values(handlers)[0];
    this.name = name;
  }

  /**
   * The path of this route for `params`, percent-encoded, without the
   * script name.
   *
   * @param args The params (optional when the pattern has none).
   * @returns The encoded path.
   * @throws {URLGenerationError} When a param is missing or cannot be
   *   formatted.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * const r = app.match("/docs/<dir:path>/<name:unicode>.pdf", "GET", () => new Response(""));
   * assert.equal(r.path({ dir: "all/2008", name: "report #1" }), "/docs/all/2008/report%20%231.pdf");
   * ```
   */
  path(...args: PathArgs<P>): string {
    return this.#build(args[0] as Record<string, unknown> | undefined);
  }

  /**
   * The absolute URL of this route for `params`, built from the current
   * request's scheme, host and script name (each overridable), like Pesto.
   *
   * @param args The params (optional when the pattern has none), then
   *   options: `query`, `fragment`, `scheme`, `host`, `scriptName`.
   * @returns The absolute URL.
   * @throws {URLGenerationError} When a param is missing or cannot be
   *   formatted, or when called outside a request without `host`.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * const home = app.match("/", "GET", (): Response => new Response(home.url()));
   * const r = await app.fetch(new Request("https://shop.test/"));
   * assert.equal(await r.text(), "https://shop.test/");
   * ```
   */
  url(...args: UrlArgs<P>): string {
    const options = args[1] ?? {};
    const request = requestContext.getStore();
    if (!request && options.host === undefined) {
      throw new URLGenerationError(
        `Cannot build a URL for ${
          describe(this.pattern, this.name)
        } outside a request: pass { host }`,
      );
    }
    return absoluteUrl(
      this.path(...([args[0]] as PathArgs<P>)),
      options,
      request,
    );
  }
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

function malformedHost(): globalThis.Response {
  return new HttpError(400, "Malformed Host header").toResponse();
}

function absoluteUrl(
  path: string,
  options: UrlOptions,
  request: Request | undefined,
): string {
  if (options.host !== undefined && !isValidHost(options.host)) {
    throw new URLGenerationError(
      `Cannot build a URL: "${options.host}" is not a valid host`,
    );
  }
  if (options.scheme !== undefined && !SCHEME.test(options.scheme)) {
    throw new URLGenerationError(
      `Cannot build a URL: "${options.scheme}" is not a valid scheme`,
    );
  }
  const scheme = options.scheme ?? request?.scheme ?? "http";
  const host = options.host ?? request!.host;
  const script = encodePathText(
    (options.scriptName ?? request?.scriptName ?? "").replace(/\/$/, ""),
  );
  const query = options.query === undefined
    ? ""
    : makeQuery(options.query).replace(/^\?/, "");
  let fragment = "";
  if (options.fragment) {
    try {
      fragment = "#" + encodeURI(options.fragment).replace(/#/g, "%23");
    } catch {
      throw new URLGenerationError(
        "Cannot build a URL: the fragment is not well-formed text",
      );
    }
  }
  return `${scheme}://${host}${script}${path}${
    query ? "?" + query : ""
  }${fragment}`;
}

interface RouteRecord {
  parsed: ParsedPattern;
  route: Route<unknown>;
  /** Decorated handlers by upper-case method. */
  handlers: Map<string, Handler<[Record<string | number, unknown>]>>;
  /** `handlers.get("GET")`, read without a map lookup. */
  get: Handler<[Record<string | number, unknown>]> | undefined;
  predicate?: (request: Request) => boolean | Promise<boolean>;
  limits?: RequestLimits;
}

// ---------------------------------------------------------------------------
// The dispatcher

/**
 * Maps URL patterns to handlers, and builds URLs back from them.
 *
 * **Priority**: routes are tried in the order they were registered, and the
 * first whose pattern matches the path, whose converters accept the values,
 * whose methods include the request's (HEAD counts as GET) and whose
 * predicate (if any) passes wins. A static route registered after a
 * matching dynamic one does not win over it.
 *
 * @typeParam C The custom converters, by name.
 *
 * @example
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const app = new DispatcherApp();
 * app.match("/items/<id:int>", ["GET", "PUT"], (request, { id }) =>
 *   new Response(`${request.method} item ${id + 1}`)
 * );
 * const put = await app.fetch(new Request("http://x/items/41", { method: "PUT" }));
 * assert.equal(await put.text(), "PUT item 42");
 * const del = await app.fetch(new Request("http://x/items/41", { method: "DELETE" }));
 * assert.equal(del.status, 405);
 * assert.equal(del.headers.get("allow"), "GET, HEAD, PUT");
 * assert.equal((await app.fetch(new Request("http://x/items/abc"))).status, 404);
 * ```
 */
// deno-lint-ignore ban-types no-explicit-any
export class DispatcherApp<C extends Record<string, Converter<any>> = {}> {
  #records: RouteRecord[] = [];
  #router = new Router<RouteRecord>();
  #names = new Map<string, Route<unknown>>();
  #converters: Readonly<Record<string, Converter>>;
  #options: DispatcherOptions<C>;
  #prefix: string;

  /**
   * Creates an app with no routes.
   *
   * @param options `prefix`, custom `converters`, `limits`, `notFound` and
   *   `methodNotAllowed` handlers, `debug` and `onError`.
   * @throws {TypeError} When the prefix has placeholders or does not start
   *   with `/`, or a custom converter is malformed (a name that is not an
   *   identifier, no `parse` or `format`, a regex that does not compile or
   *   has capturing groups).
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp({
   *   prefix: "/api",
   *   converters: {
   *     year: { pattern: "\\d{4}", parse: Number, format: String },
   *   },
   * });
   * const r = app.match("/archive/<y:year>", "GET", (_req, { y }) => new Response(`${y + 1}`));
   * assert.equal(r.path({ y: 2024 }), "/api/archive/2024");
   * ```
   */
  constructor(options: DispatcherOptions<C> = {}) {
    const prefix = options.prefix ?? "";
    if (prefix && (!prefix.startsWith("/") || prefix.includes("<"))) {
      throw new TypeError(
        `Cannot use prefix "${prefix}": it must start with "/" and hold no placeholders`,
      );
    }
    this.#prefix = prefix.replace(/\/$/, "");
    this.#options = options;
    for (const [name, converter] of Object.entries(options.converters ?? {})) {
      checkConverter(name, converter);
    }
    this.#converters = { ...BUILTIN_CONVERTERS, ...options.converters };
  }

  /**
   * The fetch handler of this app, bound: `Deno.serve(app.fetch)` and
   * `export default app` with `deno serve` both work.
   *
   * @param raw The web request.
   * @param info What `Deno.serve` tells about the connection.
   * @returns The response.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/", "GET", () => new Response("home"));
   * const { fetch } = app;
   * assert.equal(await (await fetch(new Request("http://x/"))).text(), "home");
   * ```
   */
  readonly fetch: FetchHandler = (raw, info) => {
    const host = hostHeader(raw);
    if (host !== null && host !== "" && !isValidHost(host)) {
      return Promise.resolve(malformedHost());
    }
    const request = internals.served(
      raw,
      { limits: this.#options.limits, info },
      host,
    );
    return settle(this.#run(request), info, raw);
  };

  /**
   * Dispatches a request: finds the route, runs its handler with the
   * request as the current one, and maps errors to responses.
   *
   * @param request A Pesto `Request` (or a web request, which is wrapped).
   * @returns The response; never rejects.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Request, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/a", "GET", () => new Response("a"));
   * const r = await app.handle(new Request(new globalThis.Request("http://x/a")));
   * assert.equal(r.status, 200);
   * ```
   */
  handle(request: Request | globalThis.Request): Promise<globalThis.Response> {
    const req = request instanceof Request
      ? request
      : new Request(request, { limits: this.#options.limits });
    return Promise.resolve(this.#run(req));
  }

  #run(request: Request): globalThis.Response | Promise<globalThis.Response> {
    return runHandler(
      this.#dispatcher,
      request,
      this.#options as ToHandlerOptions,
    );
  }

  readonly #dispatcher = (request: Request): HandlerResult =>
    this.#dispatch(request);

  // The common case answers without an await: a route without a predicate
  // matched, and its handler's result goes back as it is.
  #dispatch(request: Request): HandlerResult {
    const path = request.encodedPath;
    const given = request.method;
    const method = given === "GET" ? given : given.toUpperCase();
    const found = this.#router.find(method, path);
    if (found !== undefined && !found.data.predicate) {
      return this.#call(request, method, found.data, found.params);
    }
    return this.#dispatchSlowly(request, method, path, found);
  }

  async #dispatchSlowly(
    request: Request,
    method: string,
    path: string,
    found: ReturnType<Router<RouteRecord>["find"]>,
  ): Promise<globalThis.Response> {
    while (found !== undefined) {
      const record = found.data;
      if (!record.predicate || await record.predicate(request)) {
        return await this.#call(request, method, record, found.params);
      }
      found = this.#router.find(method, path, found.index);
    }
    const allowed = this.#router.allowed(path, method);
    if (allowed.length > 0) {
      if (method === "OPTIONS") {
        return new Response(null, {
          status: 204,
          headers: { Allow: allowed.join(", ") },
        });
      }
      if (this.#options.methodNotAllowed) {
        return await this.#options.methodNotAllowed(request, allowed);
      }
      return Response.methodNotAllowed(allowed);
    }
    if (this.#options.notFound) return await this.#options.notFound(request);
    return Response.notFound();
  }

  #call(
    request: Request,
    method: string,
    record: RouteRecord,
    params: Record<string | number, unknown>,
  ): HandlerResult {
    let handler = method === "GET" ? record.get : record.handlers.get(method);
    const head = handler === undefined;
    if (head) handler = record.get;
    if (record.limits) internals.setLimits(request, record.limits);
    const result = handler!(request, params === NO_PARAMS ? {} : params);
    if (!head) return result;
    return result instanceof globalThis.Response
      ? internals.withoutBody(result)
      : Promise.resolve(result).then(internals.withoutBody);
  }

  /**
   * Routes a pattern to a handler for some methods.
   *
   * @param pattern The URL pattern; the prefix is put before it.
   * @param methods A method or a list of methods.
   * @param handler Called as `handler(request, params)`.
   * @param options `name`, `predicate`, `decorators`, `limits`.
   * @returns The route, to build its URL with `url()` or `path()`.
   * @throws {SyntaxError} When the pattern is malformed (the message names
   *   the pattern and the problem), or has an empty, `.` or `..` segment.
   * @throws {TypeError} When a converter is unknown, its regex does not
   *   compile or has capturing groups, a method is not a method name or is
   *   given twice, a handler or decorator is not a function, the name is
   *   taken, or an earlier route without a predicate has the same pattern
   *   (up to placeholder names) for one of the methods.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/<page:any('about', 'help')>.html", "GET", (_req, { page }) => new Response(page));
   * assert.equal(await (await app.fetch(new Request("http://x/help.html"))).text(), "help");
   * assert.equal((await app.fetch(new Request("http://x/other.html"))).status, 404);
   * ```
   */
  match<P extends string>(
    pattern: P,
    methods: string | readonly string[],
    handler: RouteHandler<RouteParams<P, C>>,
    options?: RouteOptions,
  ): Route<RouteParams<P, C>>;
  /**
   * Routes a pattern to one handler per method.
   *
   * @param pattern The URL pattern; the prefix is put before it.
   * @param handlers Handlers by method: `{ GET: show, POST: save }`.
   * @param options `name`, `predicate`, `decorators`, `limits`.
   * @returns The route.
   * @throws {SyntaxError} When the pattern is malformed.
   * @throws {TypeError} When a converter is unknown or bad, no handler is
   *   given, or the route is a duplicate (see the other overload).
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/note", { GET: () => new Response("read"), POST: () => new Response("saved") });
   * const r = await app.fetch(new Request("http://x/note", { method: "POST" }));
   * assert.equal(await r.text(), "saved");
   * ```
   */
  match<P extends string>(
    pattern: P,
    handlers: MethodHandlers<RouteParams<P, C>>,
    options?: RouteOptions,
  ): Route<RouteParams<P, C>>;
  match<P extends string>(
    pattern: P,
    methodsOrHandlers:
      | string
      | readonly string[]
      | MethodHandlers<RouteParams<P, C>>,
    handlerOrOptions?: RouteHandler<RouteParams<P, C>> | RouteOptions,
    maybeOptions?: RouteOptions,
  ): Route<RouteParams<P, C>> {
    let handlers: Record<string, RouteHandler<RouteParams<P, C>>>;
    let options: RouteOptions;
    if (
      typeof methodsOrHandlers === "string" || Array.isArray(methodsOrHandlers)
    ) {
      const methods = typeof methodsOrHandlers === "string"
        ? [methodsOrHandlers]
        : methodsOrHandlers;
      if (typeof handlerOrOptions !== "function") {
        throw new TypeError(
          `Cannot route "${pattern}": the handler is not a function`,
        );
      }
      handlers = Object.fromEntries(methods.map((m) => [m, handlerOrOptions]));
      options = maybeOptions ?? {};
    } else {
      handlers = { ...methodsOrHandlers as MethodHandlers<RouteParams<P, C>> };
      options = (handlerOrOptions as RouteOptions | undefined) ?? {};
    }
    return this.#add(this.#prefix + pattern, handlers, options) as Route<
      RouteParams<P, C>
    >;
  }

  #add(
    pattern: string,
    // deno-lint-ignore no-explicit-any
    handlers: Record<string, RouteHandler<any>>,
    options: RouteOptions,
  ): Route<unknown> {
    const entries = Object.entries(handlers);
    if (entries.length === 0) {
      throw new TypeError(`Cannot route "${pattern}": no HTTP method given`);
    }
    const parsed = parsePattern(pattern, this.#converters);
    const decorated = new Map<
      string,
      Handler<[Record<string | number, unknown>]>
    >();
    for (const [method, handler] of entries) {
      if (typeof method !== "string" || !/^[A-Za-z]+$/.test(method)) {
        throw new TypeError(
          `Cannot route "${pattern}": "${method}" is not an HTTP method`,
        );
      }
      if (typeof handler !== "function") {
        throw new TypeError(
          `Cannot route "${pattern}": the ${method} handler is not a function`,
        );
      }
      const upper = method.toUpperCase();
      if (decorated.has(upper)) {
        throw new TypeError(
          `Cannot route "${pattern}": ${upper} is given twice`,
        );
      }
      let h = handler as Handler;
      for (const decorator of [...(options.decorators ?? [])].reverse()) {
        if (typeof decorator !== "function") {
          throw new TypeError(
            `Cannot route "${pattern}": a decorator is not a function`,
          );
        }
        h = decorator(h);
        if (typeof h !== "function") {
          throw new TypeError(
            `Cannot route "${pattern}": a decorator did not return a function`,
          );
        }
      }
      decorated.set(upper, h as Handler<[Record<string | number, unknown>]>);
    }
    this.#checkDuplicate(parsed, decorated);
    if (options.name !== undefined && this.#names.has(options.name)) {
      throw new TypeError(
        `Cannot route "${pattern}": the name "${options.name}" is taken`,
      );
    }
    const name = options.name;
    const route = new Route(
      pattern,
      (params) => buildPath(parsed, params, name),
      handlers,
      name,
    );
    const record: RouteRecord = {
      parsed,
      route,
      handlers: decorated,
      get: decorated.get("GET"),
      predicate: options.predicate,
      limits: options.limits,
    };
    this.#records.push(record);
    this.#router.add(parsed, new Set(decorated.keys()), record);
    if (name !== undefined) this.#names.set(name, route);
    return route;
  }

  /**
   * Throws when an earlier route without a predicate has the same shape
   * (the same pattern up to placeholder names) and one of the methods: the
   * new route could never be reached for them.
   */
  #checkDuplicate(parsed: ParsedPattern, handlers: Map<string, unknown>): void {
    for (const record of this.#records) {
      if (record.parsed.shape !== parsed.shape || record.predicate) continue;
      const shared = [...handlers.keys()].filter((m) => record.handlers.has(m));
      if (shared.length) {
        const same = record.parsed.source === parsed.source
          ? "it is"
          : `"${record.parsed.source}" is`;
        throw new TypeError(
          `Cannot route "${parsed.source}": ${same} already routed for ${
            shared.join(", ")
          }`,
        );
      }
    }
  }

  /**
   * The absolute URL of the route named `name`: the same as that route's
   * `url()`.
   *
   * @param name The route's name.
   * @param params Its params.
   * @param options `query`, `fragment`, `scheme`, `host`, `scriptName`.
   * @returns The absolute URL.
   * @throws {NamedRouteNotFound} When no route has that name.
   * @throws {URLGenerationError} When a param is missing or bad, or when
   *   called outside a request without `host`.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/u/<name:unicode>", "GET", () => new Response(""), { name: "user" });
   * assert.equal(app.urlfor("user", { name: "zo\u00eb" }, { host: "x.test" }), "http://x.test/u/zo%C3%AB");
   * ```
   */
  urlfor(
    name: string,
    params?: Record<string | number, unknown>,
    options?: UrlOptions,
  ): string {
    const route = this.#names.get(name);
    if (!route) throw new NamedRouteNotFound(name);
    return (route as Route<Record<string | number, unknown>>).url(
      params ?? {},
      options,
    );
  }

  /**
   * Appends the routes of other apps to this one (their names too, where
   * this app has no route of that name). Each keeps its own converters.
   *
   * @param others Other `DispatcherApp`s.
   * @returns This app.
   * @throws {TypeError} When given something that is not a `DispatcherApp`.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const blog = new DispatcherApp({ prefix: "/blog" });
   * blog.match("/", "GET", () => new Response("blog"));
   * const app = new DispatcherApp().combine(blog);
   * assert.equal(await (await app.fetch(new Request("http://x/blog/"))).text(), "blog");
   * ```
   */
  // deno-lint-ignore no-explicit-any
  combine(...others: DispatcherApp<any>[]): this {
    for (const other of others) {
      if (!(other instanceof DispatcherApp)) {
        throw new TypeError(
          "Cannot combine: only DispatcherApp instances can be combined",
        );
      }
      for (const record of other.#records) {
        this.#records.push(record);
        this.#router.add(
          record.parsed,
          new Set(record.handlers.keys()),
          record,
        );
      }
      for (const [name, route] of other.#names) {
        if (!this.#names.has(name)) this.#names.set(name, route);
      }
    }
    return this;
  }

  /**
   * Every route, in priority order.
   *
   * @returns Methods (HEAD included where GET is), pattern and name of each.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/", "GET", () => new Response(""), { name: "home" });
   * assert.deepEqual(app.routes(), [{ methods: ["GET", "HEAD"], pattern: "/", name: "home" }]);
   * ```
   */
  routes(): RouteInfo[] {
    return this.#records.map((record) => {
      const methods = new Set(record.handlers.keys());
      if (methods.has("GET")) methods.add("HEAD");
      const info: RouteInfo = {
        methods: [...methods].sort(),
        pattern: record.parsed.source,
      };
      if (record.route.name !== undefined) info.name = record.route.name;
      return info;
    });
  }
}
