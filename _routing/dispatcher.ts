// The dispatcher: `DispatcherApp` maps URL patterns to handlers through
// the compiled router, and builds URLs back from them. The public face is
// dispatch.ts.
import { HttpError, MethodNotAllowed } from "../_message/errors.ts";
import { kSetLimits, Request } from "../_message/request.ts";
import { kWithoutBody, Response } from "../_message/response.ts";
import type { RequestLimits } from "../_message/limits.ts";
import {
  type DualHandler,
  type FetchHandlerNeedsFromFetch,
  type Handler,
  type HandlerResult,
  isMade,
  pestoEntry,
  renderErrorPage,
  runHandler,
  type ToHandlerOptions,
  watchFirstCall,
} from "../_handler.ts";
import {
  BUILTIN_CONVERTERS,
  checkConverter,
  mayShadow,
  shadows,
} from "./converters.ts";
import { NamedRouteNotFound } from "./errors.ts";
import { type Converter, type ParsedPattern, parsePattern } from "./pattern.ts";
import { buildPath, Route } from "./route.ts";
import { NO_PARAMS, Router } from "./router.ts";
import type {
  DispatcherOptions,
  MethodHandlers,
  RouteHandler,
  RouteInfo,
  RouteOptions,
  RouteParams,
  UrlOptions,
} from "./types.ts";

interface RouteRecord {
  parsed: ParsedPattern;
  route: Route<unknown>;
  /** Decorated handlers by upper-case method. */
  handlers: Map<string, Handler<[Record<string | number, unknown>]>>;
  /** `handlers.get("GET")`, read without a map lookup. */
  get: Handler<[Record<string | number, unknown>]> | undefined;
  predicate?: (request: Request) => boolean | Promise<boolean>;
  limits?: RequestLimits;
  /** The handlers the library did not make, whose first call is watched. */
  unwatched: Set<unknown>;
}

/** Whether `record` answers `method` (HEAD: GET does). */
function answers(record: RouteRecord, method: string): boolean {
  return record.handlers.has(method) ||
    (method === "HEAD" && record.handlers.has("GET"));
}

/** Whether `record` answers one of `methods`. */
function answersSome(record: RouteRecord, methods: readonly string[]): boolean {
  for (let i = 0; i < methods.length; i++) {
    if (answers(record, methods[i])) return true;
  }
  return false;
}

/**
 * The methods of `record` that answer some of `methods`, for messages:
 * GET where it answers HEAD.
 */
function routedFor(methods: readonly string[], record: RouteRecord): string {
  const shared = methods.filter((m) => answers(record, m));
  const own = shared.map((m) => record.handlers.has(m) ? m : "GET");
  const text = [...new Set(own)].join(", ");
  return shared.some((m) => !record.handlers.has(m))
    ? `${text}, which answers HEAD`
    : text;
}

// ---------------------------------------------------------------------------
// The dispatcher

/**
 * Maps URL patterns to handlers, and builds URLs back from them.
 *
 * **Priority**: routes are tried in the order they were registered, and the
 * first whose pattern matches the path, whose converters accept the values,
 * whose methods include the request's (HEAD counts as GET) and whose
 * predicate (if any) passes wins. So a route that an earlier one without a
 * predicate makes unreachable for one of its methods is refused when it is
 * registered: the same pattern up to placeholder names, or a pattern whose
 * every path the earlier one provably matches (`/recipes/new` after
 * `/recipes/<recipe:unicode>`, `/n/<id:int>` after `/n/<x:unicode>`,
 * anything under `/files/` after `/files/<p:path>`). Register the specific
 * route first. What rests on a custom converter's regex or parse, or on a
 * predicate, is not judged.
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
   *   `methodNotAllowed` handlers, `errorPage`, `debug` and `onError`.
   * @throws {TypeError} When the prefix has placeholders or does not start
   *   with `/`, or a custom converter is malformed (a name that is not an
   *   identifier, no `parse` or `format`, a pattern that is neither a string
   *   nor a RegExp, a RegExp with flags, a regex that does not compile or
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
   *     // A RegExp without flags works too: its source is used.
   *     slug: { pattern: /[a-z0-9-]+/, parse: String, format: String },
   *   },
   * });
   * const r = app.match("/archive/<y:year>", "GET", (_req, { y }) => new Response(`${y + 1}`));
   * assert.equal(r.path({ y: 2024 }), "/api/archive/2024");
   * assert.equal(app.match("/s/<s:slug>", "GET", () => new Response("")).path({ s: "a-1" }), "/api/s/a-1");
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
    const custom: Record<string, Converter> = {};
    for (const [name, converter] of Object.entries(options.converters ?? {})) {
      custom[name] = checkConverter(name, converter);
    }
    this.#converters = { ...BUILTIN_CONVERTERS, ...custom };
    this.fetch = pestoEntry(
      options as ToHandlerOptions,
      (request) => this.#run(request),
    );
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
  readonly fetch: DualHandler;

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
      const page = this.#options.errorPage;
      if (page === undefined) return Response.methodNotAllowed(allowed);
      return await renderErrorPage(
        page,
        new MethodNotAllowed(allowed),
        request,
        Response.methodNotAllowed(allowed),
      );
    }
    if (this.#options.notFound) return await this.#options.notFound(request);
    const page = this.#options.errorPage;
    if (page === undefined) return Response.notFound();
    return await renderErrorPage(
      page,
      new HttpError(404, "Not found"),
      request,
      Response.notFound(),
    );
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
    if (record.limits) request[kSetLimits](record.limits);
    const args = params === NO_PARAMS ? {} : params;
    const result = record.unwatched.size !== 0 &&
        record.unwatched.delete(handler)
      ? watchFirstCall(handler as Handler<unknown[]>, request, [args])
      : handler!(request, args);
    if (!head) return result;
    return result instanceof globalThis.Response
      ? Response[kWithoutBody](result)
      : Promise.resolve(result).then((r) => Response[kWithoutBody](r));
  }

  /**
   * Routes a pattern to a handler for one or more methods:
   * `app.match("/posts/<id:int>", "GET", show)` or
   * `app.match("/posts/<id:int>", ["GET", "PUT"], handler)`.
   *
   * The handler is called as `handler(request, params)`, its params typed
   * from the pattern (`<id:int>` gives `{ id: number }`, `<w:any('a',
   * 'b')>` gives `{ w: "a" | "b" }`). Routes are tried in the order they
   * were registered (see {@linkcode DispatcherApp}); HEAD is served by GET.
   *
   * @param pattern The URL pattern, as in `/recipes/<recipe:unicode>`; the
   *   app's prefix is put before it.
   * @param methods A method name or a list of them (case-insensitive).
   * @param handler Called as `handler(request, params)`; a Pesto handler,
   *   not a fetch handler.
   * @param options `name` (for `app.urlfor()`), `predicate`, `decorators`,
   *   `limits`.
   * @returns The route, to build its URL with `url()` or `path()`.
   * @throws {SyntaxError} When the pattern is malformed (the message names
   *   the pattern and the problem), or has an empty, `.` or `..` segment.
   * @throws {TypeError} When a converter is unknown (a Flask-style
   *   `<int:id>` is told to be `<id:int>`), its arguments are refused or
   *   its regex does not compile or has capturing groups; when a method is
   *   not a method name or is given twice, the handler or a decorator is
   *   not a function, or the name is taken; when an earlier route without
   *   a predicate, for one of the methods (HEAD counts as GET), has the
   *   same pattern up to placeholder names or matches every path this one
   *   matches: the message names both patterns.
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
   *
   * // The specific route first: registered after, it would never be reached.
   * app.match("/recipes/new", "GET", () => new Response("form"));
   * app.match("/recipes/<recipe:unicode>", "GET", (_req, { recipe }) => new Response(recipe));
   * assert.throws(() => app.match("/recipes/edit", "GET", () => new Response("")), TypeError);
   * ```
   */
  match<P extends string>(
    pattern: P,
    methods: string | readonly string[],
    handler: RouteHandler<RouteParams<P, C>> | FetchHandlerNeedsFromFetch,
    options?: RouteOptions,
  ): Route<RouteParams<P, C>>;
  /**
   * Routes a pattern to one handler per method:
   * `app.match("/note", { GET: show, POST: save })`.
   *
   * Each handler is called as `handler(request, params)`, its params typed
   * from the pattern. The route answers the methods given (HEAD too, when
   * GET is given) and is tried in the order of registration, as with the
   * other form of `match()`.
   *
   * @param pattern The URL pattern, as in `/notes/<id:int>`; the app's
   *   prefix is put before it.
   * @param handlers Handlers by method name (case-insensitive):
   *   `{ GET: show, POST: save }`; at least one.
   * @param options `name` (for `app.urlfor()`), `predicate`, `decorators`
   *   (applied to each handler), `limits`.
   * @returns The route, to build its URL with `url()` or `path()`;
   *   `route.handlers` holds the handlers by method.
   * @throws {SyntaxError} When the pattern is malformed (the message names
   *   the pattern and the problem), or has an empty, `.` or `..` segment.
   * @throws {TypeError} When a converter is unknown (a Flask-style
   *   `<int:id>` is told to be `<id:int>`), its arguments are refused or
   *   its regex does not compile or has capturing groups; when no handler
   *   is given, a key is not a method name or names a method twice, a
   *   handler or decorator is not a function, or the name is taken; when an
   *   earlier route without a predicate, for one of the methods (HEAD
   *   counts as GET), has the same pattern up to placeholder names or
   *   matches every path this one matches: the message names both
   *   patterns.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * const note = app.match("/notes/<id:int>", {
   *   GET: (_req, { id }) => new Response(`note ${id}`),
   *   POST: (_req, { id }) => new Response(`saved ${id}`),
   * });
   * const r = await app.fetch(new Request("http://x/notes/3", { method: "POST" }));
   * assert.equal(await r.text(), "saved 3");
   * assert.deepEqual(Object.keys(note.handlers), ["GET", "POST"]);
   * assert.equal((await app.fetch(new Request("http://x/notes/3", { method: "PUT" }))).status, 405);
   * ```
   */
  match<P extends string>(
    pattern: P,
    handlers: MethodHandlers<RouteParams<P, C>>,
    options?: RouteOptions,
  ): Route<RouteParams<P, C>>;
  /**
   * Routes a pattern to handlers, in one of two forms (each has its own
   * description among the methods of {@linkcode DispatcherApp}):
   *
   * - `match(pattern, methods, handler, options?)`: one handler for a
   *   method or a list of methods, as in
   *   `app.match("/posts/<id:int>", ["GET", "PUT"], handler)`;
   * - `match(pattern, handlers, options?)`: one handler per method, as in
   *   `app.match("/note", { GET: show, POST: save })`.
   *
   * Handlers are called as `handler(request, params)`, the params typed
   * from the pattern (`<id:int>` gives `{ id: number }`). Routes are tried
   * in the order they were registered; HEAD is served by GET.
   *
   * @param pattern The URL pattern, as in `/recipes/<recipe:unicode>`; the
   *   app's prefix is put before it.
   * @param methodsOrHandlers A method name or a list of them
   *   (case-insensitive), or handlers by method name.
   * @param handlerOrOptions After methods, the handler (a Pesto handler,
   *   not a fetch handler); after handlers by method, the options.
   * @param maybeOptions After methods and a handler, the options: `name`
   *   (for `app.urlfor()`), `predicate`, `decorators`, `limits`.
   * @returns The route, to build its URL with `url()` or `path()`.
   * @throws {SyntaxError} When the pattern is malformed (the message names
   *   the pattern and the problem), or has an empty, `.` or `..` segment.
   * @throws {TypeError} When a converter is unknown (a Flask-style
   *   `<int:id>` is told to be `<id:int>`), its arguments are refused or
   *   its regex does not compile or has capturing groups; when no method is
   *   given, a method is not a method name or is given twice, a handler or
   *   decorator is not a function, or the name is taken; when an earlier
   *   route without a predicate, for one of the methods (HEAD counts as
   *   GET), has the same pattern up to placeholder names or matches every
   *   path this one matches: the message names both patterns.
   *
   * @example
   * ```ts
   * import { DispatcherApp, Response } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const app = new DispatcherApp();
   * app.match("/posts/new", "GET", () => new Response("form"));
   * app.match("/posts/<id:int>", ["GET", "PUT"], (req, { id }) => new Response(`${req.method} ${id}`));
   * app.match("/note", { GET: () => new Response("read"), POST: () => new Response("saved") });
   * const put = await app.fetch(new Request("http://x/posts/7", { method: "PUT" }));
   * assert.equal(await put.text(), "PUT 7");
   * const post = await app.fetch(new Request("http://x/note", { method: "POST" }));
   * assert.equal(await post.text(), "saved");
   * // Registered after "/posts/<id:int>", "/posts/1" would never be reached.
   * assert.throws(() => app.match("/posts/1", "GET", () => new Response("")), TypeError);
   * ```
   */
  match<P extends string>(
    pattern: P,
    methodsOrHandlers:
      | string
      | readonly string[]
      | MethodHandlers<RouteParams<P, C>>,
    handlerOrOptions?:
      | RouteHandler<RouteParams<P, C>>
      | FetchHandlerNeedsFromFetch
      | RouteOptions,
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
    this.#checkReachable("route", parsed, [...decorated.keys()], this.#records);
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
      unwatched: new Set([...decorated.values()].filter((h) => !isMade(h))),
    };
    this.#records.push(record);
    this.#router.add(parsed, new Set(decorated.keys()), record);
    if (name !== undefined) this.#names.set(name, route);
    return route;
  }

  /**
   * Throws when a route of `earlier` without a predicate answers one of
   * `methods` (HEAD counts as GET) and has the same shape (the same
   * pattern up to placeholder names) or provably matches every path that
   * `parsed` matches: the new route would never be reached for it.
   */
  #checkReachable(
    verb: "route" | "combine",
    parsed: ParsedPattern,
    methods: readonly string[],
    earlier: readonly RouteRecord[],
  ): void {
    for (const record of earlier) {
      // The quick tests first: this runs for every pair of routes.
      const same = record.parsed.shape === parsed.shape;
      if (!same && !mayShadow(record.parsed, parsed)) continue;
      if (record.predicate || !answersSome(record, methods)) continue;
      const source = record.parsed.source;
      let why: string;
      if (same) {
        why = `${
          source === parsed.source ? "it is" : `"${source}" is`
        } already routed for ${routedFor(methods, record)}`;
      } else if (shadows(record.parsed, parsed)) {
        why = `"${source}" (registered earlier for ${
          routedFor(methods, record)
        }) matches every path it matches; register "${parsed.source}" first`;
      } else continue;
      throw new TypeError(`Cannot ${verb} "${parsed.source}": ${why}`);
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
   * Each appended route is checked as `match()` checks a new one, against
   * this app's routes and those appended before it; when one is refused,
   * nothing is appended.
   *
   * @param others Other `DispatcherApp`s.
   * @returns This app.
   * @throws {TypeError} When given something that is not a `DispatcherApp`,
   *   or when an appended route could never be reached for one of its
   *   methods: a route of this app, or one appended before it, without a
   *   predicate, has the same pattern up to placeholder names or matches
   *   every path it matches (the message names both patterns).
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
    // Every route is checked before any is appended.
    const records = [...this.#records];
    const added: RouteRecord[] = [];
    for (const other of others) {
      if (!(other instanceof DispatcherApp)) {
        throw new TypeError(
          "Cannot combine: only DispatcherApp instances can be combined",
        );
      }
      for (const record of other.#records) {
        const methods = [...record.handlers.keys()];
        this.#checkReachable("combine", record.parsed, methods, records);
        records.push(record);
        added.push(record);
      }
    }
    for (const record of added) {
      this.#records.push(record);
      this.#router.add(record.parsed, new Set(record.handlers.keys()), record);
    }
    for (const other of others) {
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
