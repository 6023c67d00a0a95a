/**
 * Pesto's `Request`: everything a handler asks of an incoming request
 * (query and form values, cookies, headers and URIs) over the web `Request`,
 * with every read bounded by {@linkcode RequestLimits}.
 *
 * Bodies are read as they arrive and every read is bounded: urlencoded
 * forms, JSON and text within their size limits and `bodyTimeout`;
 * `multipart/form-data` is parsed while it streams in (never buffered
 * whole), text fields within `maxFieldSize`, files as
 * {@linkcode FileUpload}s held in memory up to `maxFileMemorySize` and
 * written to a temporary file above it. A limit exceeded is a 413 naming
 * the limit, a malformed body a 400, a stalled one a 408.
 *
 * A body is read in the handler, or by the response it returns. Once the
 * response of a request from `Deno.serve` has been sent, a body of 4 KiB or
 * more that `text()`, `json()` or `form()` read is released (its memory
 * freed at once rather than at some later garbage collection, which under
 * load comes too seldom for body buffers): reading it again then is a
 * `TypeError`. The values they returned stay, and so do the bytes that
 * `bytes()` handed out. The chunks of a streamed multipart body are
 * released as soon as the parser is done with them, and those of a body of
 * unknown length once joined.
 *
 * `request.validate(schema)` checks the query, the form or the JSON body
 * with a schema of any library that implements Standard Schema v1 (zod,
 * valibot, arktype) and gives its output, typed; data that fails is a
 * {@linkcode ValidationError}, a 422 whose body is JSON or text as the
 * client accepts. `request.accepts(...types)` chooses among media types by
 * the `Accept` header.
 *
 * Differences from Python's Pesto (`pesto.request`): `form()` and `json()`
 * are async (bodies arrive as streams); `form()` reads the body for POST,
 * PUT and PATCH (Pesto: POST and PUT); query strings and urlencoded bodies
 * follow the WHATWG urlencoded parser, as browsers do: pairs split on `&`
 * only, a `%` not followed by two hex digits stays as it is, and bytes not
 * valid in the charset become U+FFFD instead of an error; a multipart part
 * is a file when it has a `filename` (Pesto also wants a `Content-Type`),
 * and any boundary works (Pesto wants one starting with `--`); `cookies`
 * holds the values (not `Cookie` objects); `getHeader` reads any header,
 * `Content-Type` included; `contentType` is the media type alone; and
 * `makeUri` treats paths as text (it encodes `%`), drops the current query
 * when the path changes, and joins queries with `&` in the order given.
 *
 * @example
 * ```ts
 * import { Request } from "@pesto/pesto/request";
 * import assert from "node:assert/strict";
 *
 * const request = new Request(
 *   new globalThis.Request("http://example.com/recipes/caff%C3%A8?page=2&tag=a&tag=b", {
 *     headers: { cookie: "theme=dark" },
 *   }),
 * );
 * assert.equal(request.pathInfo, "/recipes/caff\u00e8");
 * assert.equal(request.query.get("page"), "2");
 * assert.deepEqual(request.query.getAll("tag"), ["a", "b"]);
 * assert.equal(request.cookies.get("theme"), "dark");
 * assert.equal(request.makeUri({ path: "/" }), "http://example.com/");
 * ```
 *
 * @module
 */
export {
  LengthRequired,
  PayloadTooLarge,
  RequestParseError,
  RequestTimeout,
} from "./_message/errors.ts";
export { DEFAULT_LIMITS, type RequestLimits } from "./_message/limits.ts";
export {
  type MakeUriOptions,
  Request,
  type RequestOptions,
} from "./_message/request.ts";
export type { FormValue } from "./_message/upload.ts";
export type { StandardSchemaV1 } from "./_message/standard_schema.ts";
export {
  type HasHeaders,
  type ValidateOptions,
  ValidationError,
  type ValidationErrorOptions,
  type ValidationIssue,
  type ValidationSource,
} from "./_message/validation.ts";
export {
  encodePath,
  makeQuery,
  parseQuery,
  type QueryInit,
} from "./_http/query.ts";
