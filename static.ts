/**
 * Static files: {@linkcode serveStatic} serves a directory, routed with a
 * `<path:path>` placeholder or mounted under a prefix, and
 * {@linkcode serveFile} serves one file.
 *
 * Files are streamed in chunks of `chunkSize` (a file that fits in one chunk
 * is read in one call; one sent to its end with the default `chunkSize` is
 * the runtime's own stream of the file, which `Deno.serve` sends without
 * passing its bytes through JavaScript), with a media type from the `mime`
 * package, `ETag` and `Last-Modified` validators answered with 304s,
 * `Range` requests answered 206 (one range as it is, several as
 * `multipart/byteranges`; 416 when none is satisfiable), and HEAD.
 *
 * A request can never leave the root: the path is the request's canonical
 * decoded path (each segment decoded once, `.` and `..` already resolved),
 * segments that still hold `..`, `\` or NUL are refused, symbolic links are
 * resolved and the real path must stay under the real root, dotfiles are
 * hidden unless allowed, and filesystem errors (`ENOENT`, `ENOTDIR`,
 * `ENAMETOOLONG`, `EACCES`, ...) answer 404, never 500.
 *
 * Metadata (`realpath`, `stat`, `open`) and single-chunk reads use
 * synchronous calls: on a local disk they take microseconds, while each
 * asynchronous file call costs about 11 us of CPU and a trip through the
 * blocking thread pool, which also grew the server's RSS by tens of MiB
 * under load (see bench/README.md). Larger files are read asynchronously.
 *
 * This follows Pesto's `static_server` and `serve_static_file`.
 * Differences: `ETag`, `Range`/206, `If-None-Match`, `If-Match` and
 * `If-Range` are supported; `Last-Modified` is a valid HTTP date; text
 * types default to UTF-8 (Pesto: ISO-8859-1); a directory serves its
 * `index.html` (a directory without a trailing slash is redirected to
 * one); missing and refused paths are both 404 (Pesto: 403 for paths
 * outside the root), so the answer never tells what exists; and `.gz` files
 * are served as `application/gzip`, never with `Content-Encoding`.
 *
 * @example Routed with a `<path:path>` placeholder
 * ```ts
 * import { DispatcherApp, serveStatic } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/app.css`, "body { color: teal }");
 * const app = new DispatcherApp();
 * app.match("/static/<path:path>", "GET", serveStatic(root));
 *
 * const r = await app.fetch(new Request("http://x.test/static/app.css"));
 * assert.equal(r.headers.get("content-type"), "text/css; charset=UTF-8");
 * assert.equal(await r.text(), "body { color: teal }");
 * const hidden = await app.fetch(new Request("http://x.test/static/..%2F..%2Fetc%2Fpasswd"));
 * assert.equal(hidden.status, 404);
 * await Deno.remove(root, { recursive: true });
 * ```
 *
 * @module
 */
import {
  evaluatePreconditions,
  formatHttpDate,
  notModifiedHeaders,
  parseEntityTag,
  parseHttpDate,
} from "./_http/conditional.ts";
import type { Request } from "./_message/request.ts";
import { Response } from "./_message/response.ts";
import { type DualHandler, handlerEntry } from "./_handler.ts";

/** Options of {@linkcode serveFile} (and {@linkcode serveStatic}). */
export interface ServeFileOptions {
  /**
   * The `Content-Type`. By default it comes from the file's extension
   * (`application/octet-stream` when unknown), with `charset` added to
   * text types.
   */
  contentType?: string;
  /**
   * The charset added to text media types (`text/*`, JSON, JavaScript,
   * XML), or `false` for none.
   * @default {"UTF-8"}
   */
  charset?: string | false;
  /**
   * A `Cache-Control` value to send (e.g. `"public, max-age=3600"`).
   * @default {undefined}
   */
  cacheControl?: string;
  /**
   * Send an `ETag` (from the size and modification time) and answer
   * `If-None-Match` / `If-Match`.
   * @default {true}
   */
  etag?: boolean;
  /**
   * Send `Last-Modified` and answer `If-Modified-Since` /
   * `If-Unmodified-Since`.
   * @default {true}
   */
  lastModified?: boolean;
  /**
   * Answer `Range` requests with 206.
   * @default {true}
   */
  ranges?: boolean;
  /**
   * Bytes read from the file at a time while streaming. Given, a file larger
   * than this is read through JavaScript in chunks of this size; left out,
   * a file sent to its end is the runtime's own stream of it.
   * @default {65536}
   */
  chunkSize?: number;
}

/** Options of {@linkcode serveStatic}. */
export interface ServeStaticOptions
  extends Omit<ServeFileOptions, "contentType"> {
  /**
   * The file served for a directory, or `false` to serve none (404).
   * @default {"index.html"}
   */
  index?: string | false;
  /**
   * Serve files and directories whose name starts with a dot.
   * @default {false}
   */
  dotfiles?: boolean;
  /**
   * Redirect (301) a directory requested without a trailing slash to the
   * same path with one, so the index page's relative links work.
   * @default {true}
   */
  redirectDirectories?: boolean;
}

const CHARSET_TYPES =
  /^(?:text\/|application\/(?:json|javascript|xml|[\w.+-]+\+(?:json|xml))$)/;

// The media-type table is loaded on the first file served, so that apps
// importing the library without serving files do not pay its memory.
let mimeTable: Promise<{ getType(path: string): string | null }> | undefined;

// Likewise the Range parser, on the first Range request: loading an npm
// package at startup costs about 2 MiB of RSS.
let rangeParser: Promise<typeof import("range-parser")> | undefined;

/**
 * Ranges in one `Range` header past which it is ignored (the whole file is
 * sent): many small ranges cost a part header each, and a long list costs
 * parsing (RFC 9110 section 14.2 allows ignoring them).
 */
const MAX_RANGES = 100;

/** A range of bytes, both ends included. */
interface ByteRange {
  start: number;
  end: number;
}

async function contentTypeFor(
  path: string,
  charset: string | false,
): Promise<string> {
  mimeTable ??= import("mime").then((module) => module.default);
  const type = (await mimeTable).getType(path) ?? "application/octet-stream";
  return charset && CHARSET_TYPES.test(type)
    ? `${type}; charset=${charset}`
    : type;
}

function notFound(): Response {
  return Response.notFound();
}

function methodNotAllowed(): Response {
  return Response.methodNotAllowed(["GET", "HEAD"]);
}

/** What an answer read from a file is made of: bytes, or a range of it. */
type Piece = Uint8Array | { start: number; length: number };

/**
 * A stream of `pieces`, the ranges read from `file` in chunks of at most
 * `chunkSize` bytes; the file is closed at the end, on error, and when the
 * reader cancels.
 */
function fileStream(
  file: Deno.FsFile,
  pieces: Piece[],
  chunkSize: number,
): ReadableStream<Uint8Array> {
  const chunks = pieceChunks(file, pieces, chunkSize);
  const close = () => {
    try {
      file.close();
    } catch { /* already closed */ }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          close();
          controller.close();
        } else controller.enqueue(next.value);
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel: close,
  }, { highWaterMark: 0 });
}

/** The chunks of {@linkcode fileStream}, one at a time. */
async function* pieceChunks(
  file: Deno.FsFile,
  pieces: Piece[],
  chunkSize: number,
): AsyncGenerator<Uint8Array> {
  let position = 0; // a file just opened
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) {
      yield piece;
      continue;
    }
    if (piece.start !== position) {
      await file.seek(piece.start, Deno.SeekMode.Start);
    }
    for (let remaining = piece.length; remaining > 0;) {
      const buffer = new Uint8Array(Math.min(chunkSize, remaining));
      const n = await file.read(buffer);
      if (n === null || n === 0) {
        throw new Error("File shrank while it was being sent");
      }
      remaining -= n;
      yield buffer.subarray(0, n);
    }
    position = piece.start + piece.length;
  }
}

/**
 * Serves one file as the answer to a GET or HEAD request: streamed, with
 * its media type, `ETag`, `Last-Modified`, `Accept-Ranges` and
 * `X-Content-Type-Options: nosniff`; 304 or 412 for conditional requests
 * (RFC 9110 order); 206 for a `Range` with at least one satisfiable range,
 * with the satisfiable ones only (one range as it is, with
 * `Content-Range`; several as `multipart/byteranges`, overlapping and
 * adjacent ones merged), 416 when none is satisfiable, with `If-Range`
 * honoured. A malformed `Range`, one of more than 100 ranges, or one whose
 * ranges add up to more than the file (overlaps) is ignored: the whole file
 * is sent. A missing or unreadable path, or one that is not a regular file,
 * is a 404; other methods get 405.
 *
 * The path is used as it is: to serve paths that come from a request, use
 * {@linkcode serveStatic}, which keeps them inside a root.
 *
 * @param request The request being answered.
 * @param path The file's path on disk.
 * @param options Content type, charset, cache control, validators.
 * @returns The response.
 *
 * @example A download route
 * ```ts
 * import { DispatcherApp, serveFile } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "0123456789");
 * const app = new DispatcherApp();
 * app.match("/report", "GET", (request) => serveFile(request, path));
 *
 * const part = await app.fetch(new Request("http://x.test/report", { headers: { Range: "bytes=2-4" } }));
 * assert.equal(part.status, 206);
 * assert.equal(part.headers.get("content-range"), "bytes 2-4/10");
 * assert.equal(await part.text(), "234");
 * await Deno.remove(path);
 * ```
 */
export async function serveFile(
  request: Request,
  path: string,
  options: ServeFileOptions = {},
): Promise<Response> {
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") return methodNotAllowed();
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    return fileError(error);
  }
  if (!info.isFile) return notFound();
  const size = info.size;
  const headers = new Headers({
    "Content-Type": options.contentType ??
      await contentTypeFor(path, options.charset ?? "UTF-8"),
    "Accept-Ranges": options.ranges === false ? "none" : "bytes",
    "X-Content-Type-Options": "nosniff",
  });
  const mtime = info.mtime?.getTime();
  const etag = options.etag === false
    ? undefined
    : `"${size.toString(16)}-${(mtime ?? 0).toString(16)}"`;
  const lastModified = options.lastModified === false ? undefined : mtime;
  if (etag) headers.set("ETag", etag);
  if (lastModified !== undefined) {
    headers.set("Last-Modified", formatHttpDate(lastModified));
  }
  if (options.cacheControl) headers.set("Cache-Control", options.cacheControl);

  const verdict = evaluatePreconditions(method, request.headers, {
    etag,
    lastModified,
    exists: true,
  });
  if (verdict === 304) {
    return new Response(null, {
      status: 304,
      headers: notModifiedHeaders(headers),
    });
  }
  if (verdict === 412) {
    return new Response("Precondition Failed", {
      status: 412,
      contentType: "text/plain",
    });
  }

  let start = 0;
  let length = size;
  let status = 200;
  const range = request.headers.get("range");
  if (
    range !== null && options.ranges !== false &&
    ifRangeHolds(request.headers.get("if-range"), etag, lastModified)
  ) {
    const ranges = await selectRanges(range, size);
    if (ranges === null) {
      headers.set("Content-Range", `bytes */${size}`);
      headers.delete("Content-Type");
      return new Response(null, { status: 416, headers, contentType: "" });
    }
    if (ranges !== undefined && ranges.length > 1) {
      const chunkSize = options.chunkSize;
      return byteRanges({ method, path, size, headers, chunkSize }, ranges);
    }
    if (ranges !== undefined) {
      start = ranges[0].start;
      length = ranges[0].end - start + 1;
      status = 206;
      headers.set("Content-Range", `bytes ${start}-${ranges[0].end}/${size}`);
    }
  }
  headers.set("Content-Length", String(length));
  if (method === "HEAD" || length === 0) {
    return new Response(method === "HEAD" ? null : new Uint8Array(0), {
      status,
      headers,
    });
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    return fileError(error);
  }
  const chunkSize = Math.max(1, options.chunkSize ?? 65536);
  if (length <= chunkSize) {
    // One chunk is the whole answer: read it and close the file, without a
    // stream (much cheaper in time and memory for the many small files).
    let chunk: Uint8Array;
    try {
      chunk = readChunk(file, start, length);
    } catch (error) {
      return fileError(error);
    } finally {
      file.close();
    }
    return new Response(chunk, { status, headers });
  }
  if (options.chunkSize === undefined && start + length === size) {
    return tailResponse(file, start, { status, headers });
  }
  return new Response(fileStream(file, [{ start, length }], chunkSize), {
    status,
    headers,
  });
}

/**
 * The ranges of a `Range` header to send for a file of `size` bytes: the
 * satisfiable ones, overlapping and adjacent ones merged, in the order
 * asked; `null` when none is satisfiable (416); `undefined` when the header
 * is ignored and the whole file sent (another unit, a malformed header, more
 * than {@linkcode MAX_RANGES} ranges, or ranges that add up to more than
 * the file, as Go's `net/http` does).
 */
async function selectRanges(
  header: string,
  size: number,
): Promise<readonly ByteRange[] | null | undefined> {
  if (header.split(",").length > MAX_RANGES) return undefined;
  rangeParser ??= import("range-parser");
  const { combineRanges, parse } = await rangeParser;
  const parsed = parse(size, header);
  // code 1: malformed (ignored); code 2: some ranges unsatisfiable, the
  // satisfiable ones kept in `ranges`.
  if (parsed.type !== "bytes" || (parsed.code & 1) !== 0) return undefined;
  if (parsed.ranges.length === 0) return parsed.code === 2 ? null : undefined;
  let asked = 0;
  for (const { start, end } of parsed.ranges) asked += end - start + 1;
  if (asked > size) return undefined;
  return combineRanges(parsed.ranges);
}

/** A part of a `multipart/byteranges` body: its head, then its bytes. */
interface BytePart {
  head: Uint8Array;
  start: number;
  length: number;
}

const utf8Encoder = new TextEncoder();

/** The file a multipart answer is made of, and how it is sent. */
interface RangesOf {
  method: string;
  path: string;
  size: number;
  /** The answer's headers, the file's `Content-Type` among them. */
  headers: Headers;
  chunkSize?: number;
}

/**
 * The 206 answer to several ranges: a `multipart/byteranges` body whose
 * parts carry the file's `Content-Type` and their `Content-Range` (RFC 9110
 * section 14.6), of exact `Content-Length`.
 */
function byteRanges(
  { method, path, size, headers, chunkSize: chunk }: RangesOf,
  ranges: readonly ByteRange[],
): Response {
  const boundary = crypto.randomUUID().replaceAll("-", "");
  const type = headers.get("content-type");
  const parts: BytePart[] = ranges.map(({ start, end }, i) => ({
    head: utf8Encoder.encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\n` +
        (type ? `Content-Type: ${type}\r\n` : "") +
        `Content-Range: bytes ${start}-${end}/${size}\r\n\r\n`,
    ),
    start,
    length: end - start + 1,
  }));
  const tail = utf8Encoder.encode(`\r\n--${boundary}--\r\n`);
  let total = tail.byteLength;
  for (const part of parts) total += part.head.byteLength + part.length;
  headers.set("Content-Type", `multipart/byteranges; boundary=${boundary}`);
  headers.set("Content-Length", String(total));
  const init = { status: 206, headers };
  if (method === "HEAD") return new Response(null, init);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    return fileError(error);
  }
  const chunkSize = Math.max(1, chunk ?? 65536);
  if (total - tail.byteLength > chunkSize) {
    const pieces = parts.flatMap((part): Piece[] => [part.head, part]);
    return new Response(fileStream(file, [...pieces, tail], chunkSize), init);
  }
  // Small: read at once, as a single chunk is.
  const body = new Uint8Array(total);
  let at = 0;
  try {
    for (const part of parts) {
      body.set(part.head, at);
      at += part.head.byteLength;
      file.seekSync(part.start, Deno.SeekMode.Start);
      body.set(readExactly(file, part.length), at);
      at += part.length;
    }
  } catch (error) {
    return fileError(error);
  } finally {
    file.close();
  }
  body.set(tail, at);
  return new Response(body, init);
}

/**
 * The rest of `file` from `start` as the runtime's own stream of it, which
 * `Deno.serve` sends from the file without a chunk through JavaScript:
 * about 20% more 1 MB files a second and 28% less peak memory than a
 * stream read here (bench/README.md). The stream closes the file when done or
 * cancelled. The declared `Content-Length` bounds what is sent: a file that
 * grew is cut there, one that shrank ends the response early with an error.
 */
function tailResponse(
  file: Deno.FsFile,
  start: number,
  init: { status: number; headers: Headers },
): Response {
  try {
    if (start !== 0) file.seekSync(start, Deno.SeekMode.Start);
  } catch (error) {
    file.close();
    return fileError(error);
  }
  return new Response(file.readable, init);
}

/** Reads exactly `length` bytes at `start`; throws if the file shrank. */
function readChunk(
  file: Deno.FsFile,
  start: number,
  length: number,
): Uint8Array {
  if (start !== 0) file.seekSync(start, Deno.SeekMode.Start);
  return readExactly(file, length);
}

/** Reads exactly `length` bytes where the file is; throws if it shrank. */
function readExactly(file: Deno.FsFile, length: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = file.readSync(buffer.subarray(filled));
    if (n === null || n === 0) {
      throw new Error("File shrank while it was being sent");
    }
    filled += n;
  }
  return buffer;
}

/** Whether a `Range` applies under `If-Range` (absent, or matching). */
function ifRangeHolds(
  ifRange: string | null,
  etag: string | undefined,
  lastModified: number | undefined,
): boolean {
  if (ifRange === null) return true;
  const tag = parseEntityTag(ifRange);
  if (tag) {
    const current = etag ? parseEntityTag(etag) : undefined;
    return !tag.weak && current !== undefined && !current.weak &&
      current.tag === tag.tag;
  }
  const date = parseHttpDate(ifRange);
  return date !== undefined && lastModified !== undefined &&
    Math.floor(lastModified / 1000) * 1000 === date;
}

/**
 * The answer for a filesystem error: 404 for anything about the path
 * (missing, not a directory, name too long, access denied, loops), so that
 * no error reaches the client as a 500. Only a missing `--allow-read`
 * permission is the programmer's error, and is thrown.
 */
function fileError(error: unknown): Response {
  if (error instanceof Deno.errors.NotCapable) throw error;
  return notFound();
}

const BAD_SEGMENT = /^\.\.?$|[\\\0]/;

/**
 * A handler that serves the files under `root` (Pesto's `static_server`).
 * The file is `params.path` when the handler is routed with a
 * `<path:path>` placeholder, and the request's `pathInfo` otherwise (when
 * it is mounted, or given to `toHandler`). See {@linkcode serveFile} for
 * what each answer carries, and the module documentation for how paths are
 * kept inside the root.
 *
 * @param root The directory to serve; it must exist.
 * @param options Index file, dotfiles, redirects, and {@linkcode serveFile}
 *   options.
 * @returns A handler for `app.match()` or `toHandler()`.
 * @throws {Deno.errors.NotFound} When `root` does not exist.
 * @throws {TypeError} When `root` is not a directory.
 *
 * @example Mounted under a prefix
 * ```ts
 * import { DispatcherApp, mount, serveStatic, toHandler } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/docs`);
 * await Deno.writeTextFile(`${root}/docs/index.html`, "<h1>Docs</h1>");
 * await Deno.writeTextFile(`${root}/.env`, "SECRET=1");
 * const fetch = mount({ "/assets": toHandler(serveStatic(root)), "/": new DispatcherApp() });
 *
 * const index = await fetch(new Request("http://x.test/assets/docs/"));
 * assert.equal(await index.text(), "<h1>Docs</h1>");
 * const redirect = await fetch(new Request("http://x.test/assets/docs"));
 * assert.equal(redirect.headers.get("location"), "http://x.test/assets/docs/");
 * assert.equal((await fetch(new Request("http://x.test/assets/.env"))).status, 404);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function serveStatic(
  root: string,
  options: ServeStaticOptions = {},
): DualHandler {
  const realRoot = Deno.realPathSync(root);
  if (!Deno.statSync(realRoot).isDirectory) {
    throw new TypeError(`Cannot serve "${root}": it is not a directory`);
  }
  const index = options.index ?? "index.html";
  if (index !== false && (index === "" || /[/\\\0]/.test(index))) {
    throw new TypeError(`Cannot serve "${root}": bad index name "${index}"`);
  }
  const inside = (path: string) =>
    path === realRoot ||
    path.startsWith(realRoot.endsWith("/") ? realRoot : realRoot + "/");
  const hidden = (relative: string) =>
    !options.dotfiles && relative.split("/").some((s) => s.startsWith("."));

  return handlerEntry((request: Request, params?: { path?: unknown }) => {
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") return methodNotAllowed();
    const wanted = typeof params?.path === "string"
      ? params.path
      : request.pathInfo;
    const segments = wanted.split("/").filter((s) => s !== "");
    if (segments.some((s) => BAD_SEGMENT.test(s))) return notFound();
    const relative = segments.join("/");
    if (hidden(relative)) return notFound();
    let real: string;
    let info: Deno.FileInfo;
    try {
      real = Deno.realPathSync(
        relative === "" ? realRoot : `${realRoot}/${relative}`,
      );
      if (!inside(real) || hidden(real.slice(realRoot.length))) {
        return notFound();
      }
      info = Deno.statSync(real);
    } catch (error) {
      return fileError(error);
    }
    if (info.isDirectory) {
      if (index === false) return notFound();
      if (!wanted.endsWith("/") && wanted !== "") {
        if (options.redirectDirectories === false) return notFound();
        const url = request.url;
        url.pathname += "/";
        return Response.redirect(url.href, 301);
      }
      try {
        real = Deno.realPathSync(`${real}/${index}`);
      } catch (error) {
        return fileError(error);
      }
      if (!inside(real) || hidden(real.slice(realRoot.length))) {
        return notFound();
      }
    } else if (wanted.endsWith("/")) return notFound();
    return serveFile(request, real, options);
  });
}
