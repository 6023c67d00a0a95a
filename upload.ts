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
import { spool } from "./_spool.ts";

/** Options of `new FileUpload(content, options)`. */
export interface FileUploadOptions {
  /**
   * The file name the client sent; only its base name is kept.
   * @default {""}
   */
  filename?: string;
  /**
   * The media type.
   * @default {"application/octet-stream"}
   */
  contentType?: string;
  /**
   * The headers of the multipart part.
   * @default {new Headers()}
   */
  headers?: HeadersInit;
}

/**
 * A file sent in a `multipart/form-data` body.
 *
 * @example
 * ```ts
 * import { FileUpload, Request } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const body = new FormData();
 * body.append("photo", new File(["GIF89a"], "../../cat.gif", { type: "image/gif" }));
 * const request = new Request(new globalThis.Request("http://x.test/", { method: "POST", body }));
 * const photo = (await request.files()).get("photo");
 * assert.ok(photo instanceof FileUpload);
 * assert.equal(photo.filename, "cat.gif");
 * assert.equal(photo.contentType, "image/gif");
 * assert.equal(await photo.text(), "GIF89a");
 * ```
 */
export class FileUpload {
  /** The base name of the file, as the client sent it ("" when none). */
  readonly filename: string;
  /** The media type, lower case, without parameters. */
  readonly contentType: string;
  /** The headers of the multipart part. */
  readonly headers: Headers;
  /** The size in bytes. */
  readonly size: number;
  #bytes?: Uint8Array;
  #path?: string;

  /**
   * An upload held in memory (the multipart reader makes larger ones that
   * live in a temporary file).
   *
   * @param content The content.
   * @param options The file name, media type and part headers.
   *
   * @example
   * ```ts
   * import { FileUpload } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const upload = new FileUpload(new Uint8Array([1, 2, 3]), { filename: "a.bin" });
   * assert.equal(upload.contentType, "application/octet-stream");
   * assert.deepEqual(await upload.bytes(), new Uint8Array([1, 2, 3]));
   * ```
   */
  constructor(content: Uint8Array, options: FileUploadOptions = {}) {
    this.filename = baseName(options.filename ?? "");
    const type = (options.contentType ?? "").split(";")[0].trim()
      .toLowerCase();
    this.contentType = type || "application/octet-stream";
    this.headers = new Headers(options.headers);
    this.size = content.byteLength;
    this.#bytes = content;
  }

  static {
    spool.upload = (path, size, options) => {
      const upload = new FileUpload(new Uint8Array(0), options);
      (upload as { size: number }).size = size;
      upload.#bytes = undefined;
      upload.#path = path;
      return upload;
    };
    spool.release = (upload) => {
      const bytes = upload.#bytes;
      upload.#bytes = undefined;
      return bytes;
    };
  }

  /**
   * The content of an upload held in memory (one with no temporary file);
   * throws once it was released.
   */
  #memory(): Uint8Array {
    if (this.#bytes === undefined) {
      throw new Deno.errors.NotFound(
        "The upload was released once its response was sent: read or save() it in the handler",
      );
    }
    return this.#bytes;
  }

  /**
   * The content as a stream. It can be called more than once, each time
   * from the start.
   *
   * @returns A stream of the bytes.
   * @throws {Deno.errors.NotFound} When the upload was released: its
   *   response has been sent.
   *
   * @example
   * ```ts
   * import { FileUpload } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const upload = new FileUpload(new TextEncoder().encode("abc"));
   * assert.equal(await new Response(upload.stream()).text(), "abc");
   * ```
   */
  stream(): ReadableStream<Uint8Array> {
    if (this.#path !== undefined) {
      // Opened now, so the stream still reads after the file is removed.
      return Deno.openSync(this.#path, { read: true }).readable;
    }
    const bytes = this.#memory();
    return new ReadableStream({
      type: "bytes",
      start(controller) {
        if (bytes.byteLength) controller.enqueue(bytes.slice());
        controller.close();
      },
    });
  }

  /**
   * The whole content.
   *
   * @returns A copy of the bytes.
   * @throws {Deno.errors.NotFound} When the upload was released: its
   *   response has been sent.
   *
   * @example
   * ```ts
   * import { FileUpload } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const upload = new FileUpload(new Uint8Array([7]));
   * assert.deepEqual(await upload.bytes(), new Uint8Array([7]));
   * ```
   */
  async bytes(): Promise<Uint8Array> {
    if (this.#path !== undefined) return await Deno.readFile(this.#path);
    return this.#memory().slice();
  }

  /**
   * The content decoded as text: with the `charset` parameter of the part's
   * `Content-Type`, else UTF-8 (invalid bytes become U+FFFD).
   *
   * @returns The text.
   * @throws {RangeError} When the charset is unknown.
   * @throws {Deno.errors.NotFound} When the upload was released: its
   *   response has been sent.
   *
   * @example
   * ```ts
   * import { FileUpload } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const latin = new FileUpload(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), {
   *   headers: { "content-type": "text/plain; charset=ISO-8859-1" },
   * });
   * assert.equal(await latin.text(), "caf\u00e9");
   * ```
   */
  async text(): Promise<string> {
    const type = this.headers.get("content-type") ?? "";
    const charset = /;\s*charset\s*=\s*"?([\w.:-]+)"?/i.exec(type)?.[1];
    return new TextDecoder(charset ?? "utf-8").decode(await this.bytes());
  }

  /**
   * Writes the content to a file (created, or truncated).
   *
   * @param path Where to write.
   * @returns When the file is written.
   * @throws {Deno.errors.NotFound} When the directory does not exist, or
   *   the upload was released (its response has been sent).
   *
   * @example
   * ```ts
   * import { FileUpload } from "@pesto/pesto";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempFile();
   * await new FileUpload(new TextEncoder().encode("kept")).save(path);
   * assert.equal(await Deno.readTextFile(path), "kept");
   * await Deno.remove(path);
   * ```
   */
  async save(path: string | URL): Promise<void> {
    if (this.#path !== undefined) await Deno.copyFile(this.#path, path);
    else await Deno.writeFile(path, this.#memory());
  }
}

/** The base name of a client file name: no directories, no "." or "..". */
function baseName(name: string): string {
  const cut = Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1;
  const base = name.slice(cut).replace(/^[A-Za-z]:/, "")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, "");
  return base === "." || base === ".." ? "" : base;
}
