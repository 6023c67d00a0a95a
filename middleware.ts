/**
 * Composition: middlewares over fetch handlers, so Pesto apps, Hono apps
 * and any other `(request) => Response` function plug into one another.
 *
 * - {@linkcode Middleware} is `(next) => fetchHandler`, and
 *   {@linkcode compose} chains them.
 * - {@linkcode mount} serves several apps under path prefixes.
 * - {@linkcode overlay} tries apps in turn until one does not answer 404.
 * - {@linkcode useXForwarded} believes the `X-Forwarded-*` headers of
 *   trusted proxies.
 * - {@linkcode fromFetch} routes a path of a `DispatcherApp` to a fetch
 *   handler.
 * - {@linkcode logger} prints one line per request: method, path, status
 *   and duration.
 * - {@linkcode methodOverride} lets an HTML form's POST act as PUT, PATCH
 *   or DELETE (a `_method` field or an `X-HTTP-Method-Override` header).
 *
 * These follow Pesto's `pesto.wsgiutils` (`mount_app`, `overlay`,
 * `use_x_forwarded`) with fetch handlers in place of WSGI apps. A mounted
 * Pesto app sees `scriptName` and `pathInfo` as under Pesto, and its URLs
 * (`route.url()`) include the prefix; any other fetch handler sees the
 * prefix stripped from its URL. Differences: prefixes match whole decoded
 * path segments (`/app` never matches `/apple`), `overlay` returns the last
 * app's own 404 and replays the request body to each app, and
 * `useXForwarded` takes the client address from the right end of
 * `X-Forwarded-For` (the part the trusted proxy added) rather than the
 * whole value.
 *
 * @example Pesto and Hono side by side
 * ```ts
 * import { compose, conditional, DispatcherApp, mount, Response } from "@pesto/pesto";
 * import { Hono } from "hono";
 * import assert from "node:assert/strict";
 *
 * const api = new Hono();
 * api.get("/status", (c) => c.json({ ok: true }));
 * const site = new DispatcherApp();
 * site.match("/", "GET", () => new Response("home"));
 *
 * const fetch = compose(conditional())(mount({ "/api": api, "/": site }));
 * assert.deepEqual(await (await fetch(new Request("http://x.test/api/status"))).json(), { ok: true });
 * assert.equal(await (await fetch(new Request("http://x.test/"))).text(), "home");
 * ```
 *
 * @module
 */
export type { DualMiddleware, FetchApp, Middleware } from "./_handler.ts";
export { compose } from "./_middleware/compose.ts";
export { mount } from "./_middleware/mount.ts";
export { overlay } from "./_middleware/overlay.ts";
export {
  useXForwarded,
  type XForwardedOptions,
} from "./_middleware/x_forwarded.ts";
export { fromFetch } from "./_middleware/from_fetch.ts";
export {
  type LogEntry,
  logger,
  type LoggerOptions,
} from "./_middleware/logger.ts";
export {
  methodOverride,
  type MethodOverrideOptions,
} from "./_middleware/method_override.ts";
