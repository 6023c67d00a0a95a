// Uploaded files: the `FileUpload` class, where its content is kept, and
// the temporary files that hold large uploads (made on demand, removed when
// their request is done, and any left over removed when the process exits
// normally). The public face is upload.ts.
import { charsetParam } from "../_http/charset.ts";
import { HttpError } from "./errors.ts";

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
  #content: UploadContent;

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
    this.#content = (options as InternalOptions)[kContent] ??
      new UploadContent({ bytes: content });
    this.size = this.#content.size;
  }

  /**
   * The content of an upload held in memory (one with no temporary file);
   * throws once it was released.
   */
  #memory(): Uint8Array {
    const bytes = this.#content.bytes;
    if (bytes === undefined) {
      throw new Deno.errors.NotFound(RELEASED);
    }
    return bytes;
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
    const path = this.#content.path;
    if (path !== undefined) {
      // Opened now, so the stream still reads after the file is removed.
      try {
        return Deno.openSync(path, { read: true }).readable;
      } catch (error) {
        throw spooledReadFailure(path, error);
      }
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
    const path = this.#content.path;
    if (path !== undefined) {
      try {
        return await Deno.readFile(path);
      } catch (error) {
        throw spooledReadFailure(path, error);
      }
    }
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
    return new TextDecoder(charsetParam(type) ?? "utf-8").decode(
      await this.bytes(),
    );
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
    const from = this.#content.path;
    if (from === undefined) return await Deno.writeFile(path, this.#memory());
    try {
      await Deno.copyFile(from, path);
    } catch (error) {
      // A missing source is the temporary file; a missing target directory
      // is the caller's.
      throw await Deno.stat(from).then(
        () => error,
        () => spooledReadFailure(from, error),
      );
    }
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

/**
 * Where an upload's content is: in memory, or in a temporary file. The
 * multipart reader keeps it to release the memory once the response is sent.
 */
export class UploadContent {
  /** The bytes of an upload held in memory, until released. */
  bytes: Uint8Array | undefined;
  /** The temporary file of a spooled upload. */
  readonly path: string | undefined;
  /** The size in bytes. */
  readonly size: number;

  constructor(where: { bytes: Uint8Array } | { path: string; size: number }) {
    if ("path" in where) {
      this.bytes = undefined;
      this.path = where.path;
      this.size = where.size;
    } else {
      this.bytes = where.bytes;
      this.path = undefined;
      this.size = where.bytes.byteLength;
    }
  }

  /**
   * Makes the upload unreadable, as a spooled one is once its file is
   * removed, and returns the bytes it held in memory, if any.
   */
  release(): Uint8Array | undefined {
    const bytes = this.bytes;
    this.bytes = undefined;
    return bytes;
  }
}

// The content of an upload made by the multipart reader, under a private
// key of the options so it never shows in the public signature.
const kContent = Symbol("pesto.uploadContent");
type InternalOptions = FileUploadOptions & { [kContent]?: UploadContent };
const EMPTY = new Uint8Array(0);

/** An upload of the multipart reader, over `content`. */
export function makeUpload(
  content: UploadContent,
  options: FileUploadOptions,
): FileUpload {
  const internal: InternalOptions = { ...options, [kContent]: content };
  return new FileUpload(EMPTY, internal);
}

// Temporary files.

const live = new Set<string>();
// Files whose removal found no file, and since when: their directory may be
// away (moved, or hidden by a mount) and come back with them. They are
// tried again when uploads spool, at most once a second; one still missing
// after MISSING_MS is left to the removal at exit or shutdown.
const missing = new Map<string, number>();
const MISSING_MS = 10 * 60_000;
let retried = 0;
let retrying = false;
let listening = false;

/**
 * Removes every temporary upload file still on disk (at exit, and when
 * `serve()` shuts down); returns how many there were.
 */
export function removeLeftovers(): number {
  const count = live.size;
  for (const path of live) {
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  }
  live.clear();
  missing.clear();
  return count;
}

/** Tries again to remove the files that were missing, one pass at a time. */
async function removeMissing(): Promise<void> {
  const now = Date.now();
  if (retrying || now - retried < 1000) return;
  retrying = true;
  retried = now;
  try {
    for (const [path, since] of [...missing]) {
      try {
        await Deno.remove(path);
        live.delete(path);
        missing.delete(path);
      } catch {
        if (now - since > MISSING_MS) missing.delete(path);
      }
    }
  } finally {
    retrying = false;
  }
}

// Whether a failure to make a temporary file was explained in the log: it
// is said once per process, not once per upload.
let explained = false;

/**
 * The directory `Deno.makeTempFile` writes in, as far as it can be told
 * without asking for a permission: `TMPDIR` (`TMP`, `TEMP` on Windows) when
 * readable, else the system's default.
 */
function tempDirectory(): string {
  const windows = Deno.build.os === "windows";
  for (const name of windows ? ["TMP", "TEMP"] : ["TMPDIR"]) {
    try {
      const query = { name: "env", variable: name } as const;
      if (Deno.permissions.querySync(query).state !== "granted") continue;
      const value = Deno.env.get(name);
      if (value) return value;
    } catch { /* no access */ }
  }
  return windows ? "%TEMP%" : "/tmp";
}

/**
 * Logs, once per process, why uploads above `memoryLimit` fail and what
 * fixes it: the write permission for the temporary directory, or a larger
 * `maxFileMemorySize`.
 */
function explainSpoolFailure(error: unknown, memoryLimit: number): void {
  if (explained) return;
  explained = true;
  const dir = tempDirectory();
  const why = describe(error);
  console.error(
    `Pesto: an upload over maxFileMemorySize (${memoryLimit} bytes) could ` +
      `not be written to a temporary file in ${dir} (${why}). Uploads are ` +
      `spooled to the temporary directory, which needs --allow-write=${dir} ` +
      `(or --allow-write); or raise the maxFileMemorySize limit to keep ` +
      `uploads in memory. Until then such uploads are answered 500 (this is ` +
      `logged once).`,
  );
}

// When spooling fails on the disk's side (full, directory removed, an I/O
// error), the time it started: one line when it starts, one when it works
// again.
let diskFailingSince: number | undefined;

/**
 * What a request learns of a failure to spool an upload: a missing
 * permission is a mistake in how the app runs (the error as it is: a 500,
 * explained once in the log); anything on the disk's side (full, removed,
 * unwritable) is a 503 to try again later, with one log line naming the
 * directory and the cause when such failures start.
 */
export function spoolFailure(error: unknown): unknown {
  if (isPermissionError(error)) return error;
  if (diskFailingSince === undefined) {
    diskFailingSince = performance.now();
    console.error(
      `Pesto: uploads cannot be spooled to ${tempDirectory()} (${
        describe(error)
      }): ` +
        `uploads over maxFileMemorySize get 503 until it works again`,
    );
  }
  return new HttpError(
    503,
    "Uploads cannot be stored for a moment: try again shortly",
    { headers: { "Retry-After": "10" }, cause: error },
  );
}

/**
 * An upload whose file was begun at `since` (`performance.now()`) was
 * spooled whole: ends a disk failure that began before it, with one log
 * line. (Making a file is not enough: on a full disk a file is made, and
 * writing it fails. A file begun before the failure does not end it: one
 * already open is still written when its directory is moved away.)
 */
export function spoolWorks(since: number): void {
  if (diskFailingSince === undefined || since < diskFailingSince) return;
  const seconds = (performance.now() - diskFailingSince) / 1000;
  diskFailingSince = undefined;
  console.log(
    `Pesto: uploads are spooled again, after ${seconds.toFixed(1)} s`,
  );
}

/**
 * Makes a temporary file for an upload and opens it for writing. When that
 * fails, the first time in the process also logs what fixes it
 * (`memoryLimit`, the `maxFileMemorySize` the upload went over, is named).
 */
export async function createSpoolFile(memoryLimit: number): Promise<
  { path: string; file: Deno.FsFile }
> {
  if (!listening) {
    listening = true;
    globalThis.addEventListener("unload", removeLeftovers);
  }
  let path: string;
  try {
    path = await Deno.makeTempFile({ prefix: "pesto-upload-" });
  } catch (error) {
    if (isPermissionError(error)) explainSpoolFailure(error, memoryLimit);
    throw error;
  }
  live.add(path);
  try {
    const file = await Deno.open(path, { write: true });
    if (missing.size > 0) void removeMissing();
    return { path, file };
  } catch (error) {
    await removeSpoolFile(path).catch(() => {});
    throw error;
  }
}

/**
 * Removes a temporary file made by `createSpoolFile`. A file that cannot be
 * found is kept in mind all the same: its directory may be away for a
 * moment (moved, unmounted), and the file is removed when it is back (the
 * next time an upload is spooled), or at exit or shutdown.
 */
export async function removeSpoolFile(path: string): Promise<void> {
  try {
    await Deno.remove(path);
    live.delete(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      live.delete(path);
      throw error;
    }
    if (!missing.has(path)) missing.set(path, Date.now());
  }
}

/**
 * What reading a spooled upload's file failed with: a file removed once the
 * response was sent is the caller's mistake (a `NotFound` saying so); one
 * still expected is a disk fault (see `spoolFailure`).
 */
function spooledReadFailure(path: string, error: unknown): unknown {
  if (!live.has(path)) {
    return new Deno.errors.NotFound(RELEASED, { cause: error });
  }
  return spoolFailure(error);
}

/**
 * Writes all of `bytes` to a spool file; a failure is told as
 * `spoolFailure` tells it.
 */
export async function writeSpool(
  file: Deno.FsFile,
  bytes: Uint8Array,
): Promise<void> {
  try {
    for (let offset = 0; offset < bytes.byteLength;) {
      offset += await file.write(bytes.subarray(offset));
    }
  } catch (error) {
    throw spoolFailure(error);
  }
}

/** What a read of a released upload says. */
const RELEASED =
  "The upload was released once its response was sent: read or save() it in the handler";

/** A missing permission: a mistake in how the app runs, not a disk fault. */
function isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
}

/** An error as the log lines name it. */
function describe(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}

/** A value of a parsed form: text, or an uploaded file. */
export type FormValue = string | FileUpload;
