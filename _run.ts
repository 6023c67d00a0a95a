// Running a handler for a request that is already wrapped, and mapping what
// it throws to a response. toHandler, DispatcherApp and the middlewares use it.
import { afterSent, requestContext } from "./_context.ts";
import { HttpError } from "./_errors.ts";
import type { Handler, ToHandlerOptions } from "./core.ts";
import type { Request } from "./request.ts";
import { Response } from "./response.ts";

/**
 * Runs `handler` as the current request's handler and maps what it throws;
 * never throws or rejects. A handler that answers synchronously gets its
 * response back synchronously (no promise to wait for). The request's async
 * context is entered once, and error responses are built inside it too (a
 * relative redirect needs it).
 */
export function runHandler(
  handler: Handler<[]>,
  request: Request,
  options: ToHandlerOptions = {},
): globalThis.Response | Promise<globalThis.Response> {
  let result: unknown;
  try {
    result = requestContext.run(request, handler);
  } catch (error) {
    return failed(error, request, options);
  }
  if (result instanceof globalThis.Response) return result;
  return Promise.resolve(result).then(
    (value) =>
      value instanceof globalThis.Response
        ? value
        : failed(notAResponse(value), request, options),
    (error) => failed(error, request, options),
  );
}

function notAResponse(value: unknown): TypeError {
  return new TypeError(
    `Handler returned ${typeof value} instead of a Response`,
  );
}

function failed(
  error: unknown,
  request: Request,
  options: ToHandlerOptions,
): globalThis.Response {
  return requestContext.run(request, () => {
    try {
      return errorResponse(error, request, options);
    } catch (inner) {
      // The error's own response could not be built (a bad redirect target).
      try {
        return errorResponse(inner, request, options);
      } catch {
        return Response.internalServerError();
      }
    }
  });
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

/**
 * Hands a response from `runHandler` back to the server, running
 * `afterSent` once it is known.
 */
export function settle(
  result: globalThis.Response | Promise<globalThis.Response>,
  info: Deno.ServeHandlerInfo | undefined,
  raw: globalThis.Request,
): Promise<globalThis.Response> {
  if (result instanceof globalThis.Response) {
    afterSent(result, info, raw);
    return Promise.resolve(result);
  }
  return result.then((response) => {
    afterSent(response, info, raw);
    return response;
  });
}
