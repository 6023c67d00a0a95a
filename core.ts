/**
 * The core of Pesto: a handler is a plain function from a
 * {@linkcode Request} to a {@linkcode Response}, and {@linkcode toHandler}
 * (Pesto's `to_wsgi`) turns it into a fetch handler for `Deno.serve`.
 *
 * What a handler throws is mapped to a response: an {@linkcode HttpError}
 * becomes its own response (a malformed request is a 400, a body over a
 * limit a 413), and anything else becomes a 500 with a generic page, logged
 * with its stack on the server, while the server keeps serving.
 *
 * @example
 * ```ts
 * import { Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const fetch = toHandler((request) =>
 *   new Response(`<h1>Hello, ${request.query.get("name") ?? "world"}</h1>`)
 * );
 * const response = await fetch(new Request("http://localhost/?name=Ada"));
 * assert.equal(await response.text(), "<h1>Hello, Ada</h1>");
 * ```
 *
 * @module
 */
import { requestContext } from "./_runtime/async_context.ts";
import type { Request } from "./_message/request.ts";

export {
  type DualHandler,
  type ErrorPage,
  errorResponse,
  type FetchApp,
  type FetchHandler,
  type FetchHandlerNeedsFromFetch,
  type Handler,
  type HandlerResult,
  type PestoHandlerNeedsToHandler,
  type Servable,
  toHandler,
  type ToHandlerOptions,
} from "./_handler.ts";
export { serve, type ServeOptions } from "./_serve.ts";
export { shutdownOnSignal, type ShutdownOptions } from "./_shutdown.ts";
export {
  HttpError,
  type HttpErrorOptions,
  HttpRedirect,
  MethodNotAllowed,
} from "./_message/errors.ts";

/**
 * The request being handled in this async context (Pesto's
 * `currentrequest()`): it follows the handler across `await`s and is never
 * another concurrent request's.
 *
 * @returns The request, or `undefined` outside a handler.
 *
 * @example
 * ```ts
 * import { currentRequest, Response, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(currentRequest(), undefined);
 * const fetch = toHandler(async () => {
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   return new Response(currentRequest()?.pathInfo);
 * });
 * assert.equal(await (await fetch(new Request("http://localhost/here"))).text(), "/here");
 * ```
 */
export function currentRequest(): Request | undefined {
  return requestContext.getStore() as Request | undefined;
}
