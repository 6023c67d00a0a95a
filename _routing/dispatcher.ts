// The dispatcher: `DispatcherApp` maps URL patterns to handlers through
// the compiled router, and builds URLs back from them. The public face is
// dispatch.ts.
import { hostHeader } from "../_runtime/served_request.ts";
import { isValidHost } from "../_http/path.ts";
import { HttpError, MethodNotAllowed } from "../_message/errors.ts";
import { kSetLimits, Request } from "../_message/request.ts";
import { kWithoutBody, Response } from "../_message/response.ts";
import type { RequestLimits } from "../_message/limits.ts";
import {
  type DualHandler,
  fetchEntry,
  type FetchHandlerNeedsFromFetch,
  type Handler,
  type HandlerResult,
  isMade,
  malformedHost,
  renderErrorPage,
  runHandler,
  type ToHandlerOptions,
  watchFirstCall,
} from "../_handler.ts";
import { BUILTIN_CONVERTERS, checkConverter } from "./converters.ts";
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
   *   `methodNotAllowed` handlers, `errorPage`, `debug` and `onError`.
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
  readonly fetch: DualHandler = fetchEntry((raw, info, record) => {
    const host = record.host !== undefined
      ? record.host
      : record.host = hostHeader(raw);
    const request = new Request(raw, { limits: this.#options.limits, info });
    if (host !== null && host !== "" && !isValidHost(host)) {
      return malformedHost(request, this.#options as ToHandlerOptions);
    }
    return this.#run(request);
  });

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
    handler: RouteHandler<RouteParams<P, C>> | FetchHandlerNeedsFromFetch,
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
      unwatched: new Set([...decorated.values()].filter((h) => !isMade(h))),
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
