/**
 * `DispatcherApp` maps URLs to handlers with Pesto's converter-typed URL
 * grammar, and builds URLs back from routes (reverse routing).
 *
 * Patterns are paths with placeholders `<name:converter>`:
 * `/recipes/<recipe:unicode>`, `/posts/<id:int>`, `/files/<p:path>`,
 * `/<page:any('about', 'help')>.html`, `/y/<:int>` (anonymous, numbered).
 * The params object a handler receives, and that `url()` takes, is typed
 * from the pattern string: `<id:int>` gives `{ id: number }`,
 * `<page:any('about', 'help')>` gives `{ page: "about" | "help" }`.
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
 * malformed pattern, an unknown converter (a Flask-style `<int:id>` is told
 * to be `<id:int>`), a regex with capturing groups, a `<name>` without a
 * converter and a route that an earlier one makes unreachable
 * (`/recipes/new` after `/recipes/<recipe:unicode>`: register the specific
 * route first) throw at registration; a converter's pattern may be a regex
 * source or a `RegExp` without flags; values are matched before decoding;
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
export type { Decorator } from "./_handler.ts";
export type { Converter } from "./_routing/pattern.ts";
export type {
  CollectParams,
  ConverterName,
  ConverterValue,
  DispatcherOptions,
  MethodHandlers,
  PathArgs,
  RouteHandler,
  RouteInfo,
  RouteOptions,
  RouteParams,
  Simplify,
  UrlArgs,
  UrlOptions,
} from "./_routing/types.ts";
export { NamedRouteNotFound, URLGenerationError } from "./_routing/errors.ts";
export { BUILTIN_CONVERTERS } from "./_routing/converters.ts";
export { Route } from "./_routing/route.ts";
export { DispatcherApp } from "./_routing/dispatcher.ts";
