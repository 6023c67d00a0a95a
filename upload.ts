/**
 * Uploaded files: what `request.form()` and `request.files()` give for the
 * file parts of a `multipart/form-data` body.
 *
 * A small file is held in memory; a larger one (over `maxFileMemorySize`,
 * 64 KiB by default) is written to a temporary file as it arrives, so an
 * upload never has to fit in memory. Either way an upload can be read until
 * the response has been sent (whether the handler succeeded, threw, or the
 * client went away): then the temporary files are removed and the memory of
 * the others is freed at once (for a request from `Deno.serve`, the body
 * buffer that held them), and reading one is a `Deno.errors.NotFound`. A
 * handler that wants to keep a file calls
 * {@linkcode FileUpload.prototype.save}, `bytes()` or `text()` before it
 * returns. That happens for requests served through `toHandler`, `serve` or
 * `DispatcherApp.fetch` (after the next turn of the event loop when there
 * is no `Deno.serve` connection info); files of requests read any other way
 * are removed when the process exits, and their in-memory uploads stay.
 *
 * Like Python's Pesto (`pesto.httputils.FileUpload`), `filename` is the base
 * name only (any `/`, `\`, `C:\` or `\\server\` path the client sent is
 * dropped). Unlike it, the content is read through `stream()`, `bytes()` and
 * `text()` (there is no open file object), it can be read only until the
 * response has been sent (Pesto's file object lasts as long as it is
 * referenced), and `headers` is a web `Headers`.
 *
 * @example
 * ```ts
 * import { FileUpload } from "@pesto/pesto/upload";
 * import assert from "node:assert/strict";
 *
 * const upload = new FileUpload(new TextEncoder().encode("hello"), {
 *   filename: "C:\\Users\\ada\\notes.txt",
 *   contentType: "text/plain",
 * });
 * assert.equal(upload.filename, "notes.txt");
 * assert.equal(upload.size, 5);
 * assert.equal(await upload.text(), "hello");
 * ```
 *
 * @module
 */
export { FileUpload, type FileUploadOptions } from "./_message/upload.ts";
