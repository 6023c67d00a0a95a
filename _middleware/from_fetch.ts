// `fromFetch()`: a route that leads to a fetch handler.
import type { Request } from "../_message/request.ts";
import {
  asFetch,
  type DualHandler,
  type FetchApp,
  handlerEntry,
  type PestoHandlerNeedsToHandler,
} from "../_handler.ts";

/**
 * A Pesto handler that passes the request on to a fetch handler, so a
 * `DispatcherApp` route can lead to a Hono app, a {@linkcode mount}, or any
 * other fetch handler. The fetch handler gets the web request as it reached
 * the `DispatcherApp` (a mounted Pesto app still sees its script name).
 *
 * @param app A fetch handler, or an object with `fetch`.
 * @returns A handler for `app.match()`.
 * @throws {TypeError} When `app` has no fetch handler.
 *
 * @example Route a prefix of a DispatcherApp to a Hono app
 * ```ts
 * import { DispatcherApp, fromFetch, mount, Response } from "@pesto/pesto";
 * import { Hono } from "hono";
 * import assert from "node:assert/strict";
 *
 * const hono = new Hono().get("/hello/:name", (c) => c.text(`hello ${c.req.param("name")}`));
 * const app = new DispatcherApp();
 * app.match("/", "GET", () => new Response("home"));
 * app.match("/hono/<rest:path>", ["GET", "POST"], fromFetch(mount({ "/hono": hono })));
 * const r = await app.fetch(new Request("http://x.test/hono/hello/ada"));
 * assert.equal(await r.text(), "hello ada");
 * ```
 */
export function fromFetch(
  app: FetchApp | PestoHandlerNeedsToHandler,
): DualHandler {
  const fetch = asFetch(app, "fromFetch()");
  return handlerEntry((request: Request) => fetch(request.raw));
}
