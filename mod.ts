/**
 * # Pesto for Deno
 *
 * A small, well tested library that makes writing web applications on
 * `Deno.serve` easy and fun: a port of Python's Pesto to web standards. It is
 * a library, not a framework: no config, no templates, no ORM.
 *
 * - A handler is a plain function `(request) => Response`;
 *   {@linkcode toHandler} turns it into a fetch handler.
 * - {@linkcode DispatcherApp} maps URLs to handlers with typed placeholders
 *   (`/recipes/<recipe:unicode>`, `<id:int>`) and builds URLs back
 *   (`route.url({ recipe })`).
 * - {@linkcode Request} reads query, form, cookies, headers and URIs, with
 *   limits on everything a client sends.
 * - {@linkcode Response} is a value object with canned responses and
 *   modifiers that return new responses.
 *
 * ## The modules
 *
 * Everything is exported here; each area is also its own entry point, with
 * its rules, its limits and its differences from Python's Pesto in its
 * module documentation:
 *
 * | entry point             | what it gives                                                                                           |
 * | ----------------------- | ------------------------------------------------------------------------------------------------------- |
 * | `@pesto/pesto/core`     | {@linkcode toHandler}, {@linkcode serve}, {@linkcode currentRequest}, {@linkcode HttpError}              |
 * | `@pesto/pesto/dispatch` | {@linkcode DispatcherApp}: routing with typed placeholders and converters, reverse routing              |
 * | `@pesto/pesto/request`  | {@linkcode Request}, {@linkcode RequestLimits}: query, forms, JSON, cookies, URIs, bounded body reads   |
 * | `@pesto/pesto/upload`   | {@linkcode FileUpload}: uploaded files, streamed and spooled to disk                                    |
 * | `@pesto/pesto/response` | {@linkcode Response}: value-object responses, canned responses, {@linkcode STATUS_CODE}                 |
 * | `@pesto/pesto/html`     | {@linkcode html}, {@linkcode raw}: HTML templates that escape what they interpolate                     |
 * | `@pesto/pesto/cookies`  | {@linkcode Cookie}, {@linkcode parseCookieHeader}, signed values                                        |
 * | `@pesto/pesto/multidict`| {@linkcode MultiDict}: ordered multi-valued maps                                                        |
 * | `@pesto/pesto/session`  | {@linkcode sessionMiddleware} and the memory, Deno KV and Redis stores                                  |
 * | `@pesto/pesto/static`   | {@linkcode serveStatic}, {@linkcode serveFile}                                                          |
 * | `@pesto/pesto/caching`  | {@linkcode withEtag}, {@linkcode conditional}, {@linkcode noCache}                                      |
 * | `@pesto/pesto/middleware` | {@linkcode compose}, {@linkcode mount}, {@linkcode overlay}, {@linkcode useXForwarded}, {@linkcode logger}, {@linkcode methodOverride} |
 * | `@pesto/pesto/websocket` | {@linkcode upgradeWebSocket}: WebSocket routes, {@linkcode UpgradeRequired} (426)                     |
 * | `@pesto/pesto/testing`  | {@linkcode TestApp}: in-process requests with a cookie jar                                              |
 *
 * ## Runtime
 *
 * Deno 2.x. Requests, responses, URLs, streams and Web Crypto are web
 * standards; what needs Deno itself is {@linkcode serve} (`Deno.serve`),
 * static files and upload spooling (the file system),
 * {@linkcode KvSessionStore} (Deno KV: `--unstable-kv`) and reading `PORT`.
 * An app's `fetch` also runs under `deno serve --parallel`, one worker per
 * core, with sessions in Deno KV or Redis shared by the workers.
 *
 * @example The recipes app
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const recipes: Record<string, string> = { toast: "Toast it." };
 * const app = new DispatcherApp();
 * // Handlers that link to each other's routes declare their return type.
 * const index = app.match("/", "GET", (): Response =>
 *   new Response(Object.keys(recipes).map((recipe) =>
 *     `<a href="${show.url({ recipe })}">${recipe}</a>`
 *   )));
 * const show = app.match(
 *   "/recipes/<recipe:unicode>",
 *   "GET",
 *   (_request, { recipe }): Response =>
 *     recipe in recipes
 *       ? new Response(`<p>${recipes[recipe]}</p>
 *           <a href="${index.url()}">Back</a>`)
 *       : Response.notFound(),
 * );
 *
 * const page = await app.fetch(new Request("http://localhost:8080/"));
 * assert.equal(
 *   await page.text(),
 *   '<a href="http://localhost:8080/recipes/toast">toast</a>',
 * );
 * // Deno.serve({ port: 8080 }, app.fetch);
 * ```
 *
 * @module
 */
export * from "./core.ts";
export * from "./request.ts";
export * from "./response.ts";
export * from "./html.ts";
export * from "./multidict.ts";
export * from "./cookies.ts";
export * from "./upload.ts";
export * from "./dispatch.ts";
export * from "./session.ts";
export * from "./static.ts";
export * from "./caching.ts";
export * from "./websocket.ts";
export * from "./middleware.ts";
export * from "./testing.ts";
export * from "./security.ts";
export * from "./rate_limit.ts";
