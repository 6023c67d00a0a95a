// The HTTP error classes, above the response they answer with and below
// everything that throws them.
import { Response } from "./response.ts";
import { STATUS_TEXT } from "../_http/status.ts";

/** Options of {@linkcode HttpError}. */
export interface HttpErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
  /** Headers to send with the error response. */
  headers?: HeadersInit;
}

/**
 * An error that answers the request with an HTTP status. Throw it from a
 * handler (or anything a handler calls) to send that answer: the message is
 * sent as a short plain-text body, so keep it free of secrets.
 *
 * @example
 * ```ts
 * import { HttpError } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const error = new HttpError(404, "No such recipe");
 * const response = error.toResponse();
 * assert.equal(response.status, 404);
 * assert.equal(await response.text(), "No such recipe\n");
 * ```
 */
export class HttpError extends Error {
  /** The HTTP status code. */
  readonly status: number;
  /** Headers sent with the error response. */
  readonly headers: Headers;

  /**
   * Creates an HTTP error.
   *
   * @param status A redirect or error status (300-599).
   * @param message A short message for the client; defaults to the status
   *   text.
   * @param options `cause` and extra `headers`.
   * @throws {RangeError} When `status` is not between 300 and 599.
   *
   * @example
   * ```ts
   * import { HttpError } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new HttpError(503).message, "Service Unavailable");
   * assert.throws(() => new HttpError(200), RangeError);
   * assert.equal(new HttpError(418).toResponse().status, 418);
   * ```
   */
  constructor(
    status: number,
    message?: string,
    options: HttpErrorOptions = {},
  ) {
    if (!Number.isInteger(status) || status < 300 || status > 599) {
      throw new RangeError(
        `Cannot create HttpError with status ${status}: use 300 to 599`,
      );
    }
    super(message ?? STATUS_TEXT[status] ?? "Error", { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.headers = new Headers(options.headers);
  }

  /**
   * The response that answers the request: the status, the headers, and the
   * message as `text/plain`.
   *
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { HttpError } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const r = new HttpError(429, "Slow down", { headers: { "Retry-After": "5" } }).toResponse();
   * assert.equal(r.getHeader("retry-after"), "5");
   * assert.equal(r.contentType, "text/plain;charset=UTF-8");
   * ```
   */
  toResponse(): Response {
    return new Response(this.message + "\n", {
      status: this.status,
      headers: this.headers,
      contentType: "text/plain",
    }).addHeaders({ "X-Content-Type-Options": "nosniff" });
  }
}

/**
 * 405 Method Not Allowed, carrying the methods the resource accepts.
 *
 * @example
 * ```ts
 * import { MethodNotAllowed } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const r = new MethodNotAllowed(["POST", "GET"]).toResponse();
 * assert.equal(r.status, 405);
 * assert.equal(r.getHeader("allow"), "GET, POST");
 * ```
 */
export class MethodNotAllowed extends HttpError {
  /** The allowed methods, sorted. */
  readonly allowed: readonly string[];

  /**
   * Creates the error.
   *
   * @param allowed The methods the resource accepts.
   *
   * @example
   * ```ts
   * import { MethodNotAllowed } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new MethodNotAllowed(["PUT", "GET"]).allowed, ["GET", "PUT"]);
   * ```
   */
  constructor(allowed: Iterable<string>) {
    const sorted = [...new Set(allowed)].sort();
    super(405, undefined, { headers: { Allow: sorted.join(", ") } });
    this.allowed = sorted;
  }

  /**
   * Pesto's 405 page with the `Allow` header.
   *
   * @returns A new `Response`.
   *
   * @example
   * ```ts
   * import { MethodNotAllowed } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new MethodNotAllowed(["GET"]).toResponse().getHeader("allow"), "GET");
   * ```
   */
  override toResponse(): Response {
    return Response.methodNotAllowed(this.allowed);
  }
}

/**
 * A redirect thrown as an error, for code deep in a call stack (a login
 * check, say) that wants to send the client elsewhere.
 *
 * @example
 * ```ts
 * import { HttpRedirect } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const r = new HttpRedirect("https://example.com/login").toResponse();
 * assert.equal(r.status, 302);
 * assert.equal(r.getHeader("location"), "https://example.com/login");
 * ```
 */
export class HttpRedirect extends HttpError {
  /** Where to go. */
  readonly location: string;

  /**
   * Creates the redirect.
   *
   * @param location Where to go (relative locations are resolved against the
   *   current request, as in `Response.redirect`).
   * @param status 301, 302, 303, 307 or 308.
   *
   * @example
   * ```ts
   * import { HttpRedirect } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new HttpRedirect("/x", 303).status, 303);
   * ```
   */
  constructor(location: string, status = 302) {
    super(status, `Redirect to ${location}`);
    this.location = location;
  }

  /**
   * The redirect response.
   *
   * @returns A new `Response`.
   * @throws {TypeError} When the location holds CR, LF or NUL.
   *
   * @example
   * ```ts
   * import { HttpRedirect } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new HttpRedirect("https://a.example/", 301).toResponse().status, 301);
   * ```
   */
  override toResponse(): Response {
    return Response.redirect(this.location, this.status);
  }
}

/**
 * 400 Bad Request: the request could not be parsed (a malformed `Host`,
 * path, query, form or body).
 *
 * @example
 * ```ts
 * import { RequestParseError } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const error = new RequestParseError("Malformed multipart body: no boundary");
 * assert.equal(error.status, 400);
 * ```
 */
export class RequestParseError extends HttpError {
  /**
   * Creates the error.
   *
   * @param message What was wrong, in a few words.
   * @param options `cause` and extra `headers`.
   *
   * @example
   * ```ts
   * import { RequestParseError } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new RequestParseError("Bad path").toResponse().status, 400);
   * ```
   */
  constructor(message = "Bad Request", options: HttpErrorOptions = {}) {
    super(400, message, options);
  }
}

/**
 * 413 Content Too Large: a request limit was exceeded.
 *
 * @example
 * ```ts
 * import { PayloadTooLarge } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new PayloadTooLarge().toResponse().status, 413);
 * ```
 */
export class PayloadTooLarge extends HttpError {
  /**
   * Creates the error.
   *
   * @param message Which limit was exceeded.
   * @param options `cause` and extra `headers`.
   *
   * @example
   * ```ts
   * import { PayloadTooLarge } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new PayloadTooLarge("Body over 1024 bytes").message, "Body over 1024 bytes");
   * ```
   */
  constructor(message = "Content Too Large", options: HttpErrorOptions = {}) {
    super(413, message, options);
  }
}

/**
 * 411 Length Required.
 *
 * @example
 * ```ts
 * import { LengthRequired } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new LengthRequired().status, 411);
 * ```
 */
export class LengthRequired extends HttpError {
  /**
   * Creates the error.
   *
   * @param message A short message.
   *
   * @example
   * ```ts
   * import { LengthRequired } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new LengthRequired().message, "Length Required");
   * ```
   */
  constructor(message = "Length Required") {
    super(411, message);
  }
}

/**
 * 408 Request Timeout: the body did not arrive before the read deadline.
 *
 * @example
 * ```ts
 * import { RequestTimeout } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new RequestTimeout().toResponse().status, 408);
 * ```
 */
export class RequestTimeout extends HttpError {
  /**
   * Creates the error.
   *
   * @param message A short message.
   *
   * @example
   * ```ts
   * import { RequestTimeout } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new RequestTimeout().message, "Request Timeout");
   * ```
   */
  constructor(message = "Request Timeout") {
    super(408, message, { headers: { Connection: "close" } });
  }
}

/**
 * The answer to a request target that cannot be read: the error's own
 * response when it is an {@linkcode HttpError}, else a 400.
 */
export function unreadableTarget(error: unknown): Response {
  return error instanceof HttpError
    ? error.toResponse()
    : new HttpError(400, "Malformed request target").toResponse();
}
