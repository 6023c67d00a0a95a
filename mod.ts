/**
 * # Pesto for Deno
 *
 * A small, well tested library that makes writing web applications on
 * `Deno.serve` easy and fun: a port of Python's Pesto to web standards. It is
 * a library, not a framework — no config, no templates, no ORM.
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
 * @example The recipes app
 * ```ts
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const recipes: Record<string, string> = { toast: "Put bread in toaster." };
 * const app = new DispatcherApp();
 * // Handlers that link to each other's routes declare their return type.
 * const index = app.match("/", "GET", (): Response =>
 *   new Response(Object.keys(recipes).map((r) =>
 *     `<a href="${showRecipe.url({ recipe: r })}">${r}</a>`
 *   )));
 * const showRecipe = app.match("/recipes/<recipe:unicode>", "GET", (_request, { recipe }): Response =>
 *   recipe in recipes
 *     ? new Response(`<p>${recipes[recipe]}</p><a href="${index.url()}">Back</a>`)
 *     : Response.notFound()
 * );
 *
 * const page = await app.fetch(new Request("http://localhost:8080/"));
 * assert.equal(await page.text(), '<a href="http://localhost:8080/recipes/toast">toast</a>');
 * // Deno.serve({ port: 8080 }, app.fetch);
 * ```
 *
 * @module
 */
export * from "./core.ts";
export * from "./request.ts";
export * from "./response.ts";
export * from "./multidict.ts";
export * from "./cookies.ts";
export * from "./upload.ts";
export * from "./dispatch.ts";
export * from "./session.ts";
export * from "./static.ts";
export * from "./caching.ts";
export * from "./middleware.ts";
export * from "./testing.ts";
