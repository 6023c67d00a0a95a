// The types carried from a pattern string, and the options of routes and
// apps. They are types only: the runtime parse is in pattern.ts.
import type { QueryInit } from "../_http/query.ts";
import type { RequestLimits } from "../_message/limits.ts";
import type { Request } from "../_message/request.ts";
import type { Decorator, ErrorPage, HandlerResult } from "../_handler.ts";
import type { Converter } from "./pattern.ts";

/** The converter name of a placeholder spec such as `int('\\d+')`. */
export type ConverterName<S extends string> = S extends `${infer N}(${string}`
  ? N
  : S;

/**
 * The value type of a placeholder's converter, from its spec (`int`,
 * `unicode('[a-z]+')`, `any('a', 'b')`): its own type for a custom
 * converter, `number` for `int` and `float`, the union of the alternatives
 * for `any(...)` (`"a" | "b"`; `string` when they cannot be read, as when
 * one holds a backslash), `string` for the others.
 *
 * The alternatives of `any(...)` are read one at a time: the type is that
 * of `any(...)` with what is left of the arguments, after a space, an `r`
 * prefix or the first alternative and its comma.
 */
export type ConverterValue<Spec extends string, C> = ConverterName<Spec> extends
  keyof C ? C[ConverterName<Spec>] extends Converter<infer T> ? T : string
  : ConverterName<Spec> extends "int" | "float" ? number
  : Spec extends `any(${infer Args})` ? (
      Args extends ` ${infer Rest}` ? ConverterValue<`any(${Rest})`, C>
        : Args extends `${"r" | "R"}${infer Rest}` ? (
            Rest extends `${"'" | '"'}${string}`
              ? ConverterValue<`any(${Rest})`, C>
              : string
          )
        : Args extends `'${infer Value}'${infer More}` ? (
            Value extends `${string}\\${string}` ? string
              : More extends "" ? Value
              : More extends ` ${infer Rest}`
                ? ConverterValue<`any('${Value}'${Rest})`, C>
              : More extends `,${infer Rest}`
                ? Value | ConverterValue<`any(${Rest})`, C>
              : string
          )
        : Args extends `"${infer Value}"${infer More}` ? (
            Value extends `${string}\\${string}` ? string
              : More extends "" ? Value
              : More extends ` ${infer Rest}`
                ? ConverterValue<`any("${Value}"${Rest})`, C>
              : More extends `,${infer Rest}`
                ? Value | ConverterValue<`any(${Rest})`, C>
              : string
          )
        : string
    )
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
          Acc & { [K in N["length"]]: ConverterValue<Spec, C> },
          [...N, unknown]
        >
      : CollectParams<
        Tail,
        C,
        Acc & { [K in Name]: ConverterValue<Spec, C> },
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
  /**
   * Renders every error response the app makes (400, 404, 405 with its
   * `Allow`, 408, 411, 413, 500) and those of the `HttpError`s handlers
   * throw, from the error and the request (see `ToHandlerOptions`); the
   * generic page when it returns `undefined` or throws. `notFound` and
   * `methodNotAllowed`, when given, answer their cases instead.
   * @default {undefined} (the generic pages)
   */
  errorPage?: ErrorPage;
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
