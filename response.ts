/**
 * Pesto's `Response`: a value object over the web `Response`.
 *
 * It extends `globalThis.Response`, so it goes straight to `Deno.serve` or to
 * any fetch-based code, and adds Pesto's conveniences: content given as a
 * string, bytes, a list or (async) iterable of chunks, or a stream; headers
 * given as a record; a default `Content-Type` of `text/html; charset=UTF-8`;
 * modifiers that return a new response (`addHeader`, `addCookie`, `replace`,
 * `onClose`, ...); canned responses (`Response.notFound()`,
 * `Response.redirect(...)`, ...); and streams of server-sent events
 * (`Response.eventStream(events)`).
 *
 * A body given as bytes is copied by the web `Response`, as the Fetch
 * standard says; once `Deno.serve` has sent a response returned through
 * `toHandler`, `serve` or `DispatcherApp`, that copy is released if it is 4
 * KiB or more (its memory freed at once rather than at some later garbage
 * collection, which under load comes too seldom for large buffers). The bytes
 * the application gave stay as they are, and a response whose body
 * JavaScript read instead is never touched, nor one that was cloned (a clone
 * shares that copy), nor a web `Response` (which may have been cloned where
 * the library cannot see it).
 *
 * Differences from Python's Pesto: the status is a number (the reason phrase
 * comes from {@linkcode STATUS_TEXT}); header names keep the case the web
 * `Headers` class gives them (lower case); canned messages are HTML-escaped;
 * a relative redirect is resolved browser-style against the current URL.
 *
 * @example
 * ```ts
 * import { Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const response = new Response(["<h1>", "Hello", "</h1>"])
 *   .addHeader("Cache-Control", "no-store")
 *   .addCookie("theme", "dark", { path: "/" });
 * assert.equal(response.status, 200);
 * assert.equal(response.contentType, "text/html; charset=UTF-8");
 * assert.equal(await response.text(), "<h1>Hello</h1>");
 * ```
 *
 * @module
 */
export { STATUS_CODE, STATUS_TEXT } from "./_http/status.ts";
export type {
  Callback,
  Chunk,
  HeadersRecord,
  ResponseContent,
  ResponseHeaders,
  ResponseOptions,
} from "./_message/content.ts";
export type {
  EventStreamOptions,
  EventStreamSource,
  ServerSentEvent,
} from "./_message/event_stream.ts";
export { escapeHtml } from "./_message/html.ts";
export { type ReplaceOptions, Response } from "./_message/response.ts";
