// The errors of reverse routing.

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
