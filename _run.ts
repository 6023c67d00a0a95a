// Running a handler for a request that is already wrapped, and mapping what
// it throws to a response. toHandler, DispatcherApp and the middlewares use it.
import { requestContext } from "./_context.ts";
import { HttpError } from "./_errors.ts";
import type { Handler, ToHandlerOptions } from "./core.ts";
import type { Request } from "./request.ts";
import { Response } from "./response.ts";

/** Runs `handler` as the current request's handler; never throws. */
export function runHandler(
  handler: Handler<[]>,
  request: Request,
  options: ToHandlerOptions = {},
): Promise<globalThis.Response> {
  return requestContext.run(request, settle, handler, request, options);
}

async function settle(
  handler: Handler<[]>,
  request: Request,
  options: ToHandlerOptions,
): Promise<globalThis.Response> {
  try {
    const result = await handler(request);
    if (!(result instanceof globalThis.Response)) {
      throw new TypeError(
        `Handler returned ${typeof result} instead of a Response`,
      );
    }
    return result;
  } catch (error) {
    try {
      return errorResponse(error, request, options);
    } catch (inner) {
      // An error's own toResponse() failed (a bad redirect target, say).
      return errorResponse(inner, request, options);
    }
  }
}

/**
 * The response for an error thrown by a handler: an {@linkcode HttpError}'s
 * own response, or a generic 500 (logged with its stack).
 *
 * @param error What was thrown.
 * @param request The request being handled.
 * @param options `debug` and `onError`.
 * @returns The response to send.
 *
 * @example
 * ```ts
 * import { errorResponse, HttpError, Request } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const request = new Request(new globalThis.Request("http://localhost/"));
 * assert.equal(errorResponse(new HttpError(404), request).status, 404);
 * const quiet = { onError: () => {} };
 * const r = errorResponse(new Error("secret detail"), request, quiet);
 * assert.equal(r.status, 500);
 * assert.doesNotMatch(await r.text(), /secret/);
 * ```
 */
export function errorResponse(
  error: unknown,
  request: Request,
  options: ToHandlerOptions = {},
): Response {
  if (error instanceof HttpError) return error.toResponse();
  if (options.onError) options.onError(error, request);
  else {
    let where = "";
    try {
      where = ` ${request.method} ${request.requestUri}`;
    } catch { /* a malformed target: say nothing more */ }
    console.error(`Error while handling${where}:`, error);
  }
  if (!options.debug) return Response.internalServerError();
  const detail = error instanceof Error
    ? error.stack ?? String(error)
    : String(error);
  return new Response(detail, { status: 500, contentType: "text/plain" });
}
