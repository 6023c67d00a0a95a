// A small raw HTTP/1.1 client for tests: it sends bytes exactly as given
// over Deno.connect (new Request() would normalise hostile targets away) and
// reads one response. Everything is bounded: connections time out and are
// always closed.
import { concat } from "../_message/body.ts";

/** A response read off the wire. */
export interface RawResponse {
  /** The status code (0 when the server closed without answering). */
  status: number;
  /** The response headers. */
  headers: Headers;
  /** The body, decoded as UTF-8. */
  body: string;
}

/** Options of {@linkcode rawRequest}. */
export interface RawRequestOptions {
  /**
   * Give up reading after this many milliseconds.
   * @default {5000}
   */
  timeout?: number;
  /**
   * Stop after sending, without reading an answer: close the connection
   * (a client that goes away mid-request).
   * @default {false}
   */
  hangUp?: boolean;
}

const encoder = new TextEncoder();

/** A piece of a raw request: text, bytes, or a promise of either (the
 * client waits for it before sending on, like a slow client). */
export type RawPart = string | Uint8Array | Promise<string | Uint8Array>;

/**
 * Sends `parts` (text or bytes, written in order, each promised one when it
 * settles) to 127.0.0.1:`port` and reads one response.
 */
export async function rawRequest(
  port: number,
  parts: string | Uint8Array | readonly RawPart[],
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed already */ }
  }, options.timeout ?? 5000);
  try {
    const list = typeof parts === "string" || parts instanceof Uint8Array
      ? [parts]
      : parts;
    for (const promised of list) {
      const part = await promised;
      const bytes = typeof part === "string" ? encoder.encode(part) : part;
      for (let offset = 0; offset < bytes.byteLength;) {
        offset += await conn.write(bytes.subarray(offset));
      }
    }
    if (options.hangUp) {
      return { status: 0, headers: new Headers(), body: "" };
    }
    return await readResponse(conn);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed already */ }
  }
}

/** Reads one response: headers, then the body by Content-Length or EOF. */
async function readResponse(conn: Deno.Conn): Promise<RawResponse> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(64 * 1024);
  let head: { status: number; headers: Headers; start: number } | undefined;
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch {
      break; // reset or closed by the timeout
    }
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    size += n;
    const all = concat(chunks, size);
    head ??= parseHead(all);
    if (head) {
      const length = head.headers.get("content-length");
      if (length !== null && all.byteLength - head.start >= Number(length)) {
        break;
      }
    }
  }
  const all = concat(chunks, size);
  head ??= parseHead(all);
  if (!head) return { status: 0, headers: new Headers(), body: "" };
  const length = head.headers.get("content-length");
  const end = length === null ? all.byteLength : head.start + Number(length);
  const body = new TextDecoder().decode(all.subarray(head.start, end));
  return { status: head.status, headers: head.headers, body };
}

function parseHead(
  bytes: Uint8Array,
): { status: number; headers: Headers; start: number } | undefined {
  const text = new TextDecoder("latin1").decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
  }
  const status = Number(statusLine.split(" ")[1]);
  return { status, headers, start: end + 4 };
}

/** A server on 127.0.0.1, port 0, for one test. */
export interface TestServer {
  /** The port it listens on. */
  port: number;
  /** Stops it. */
  close(): Promise<void>;
}

/** Serves `fetch` on 127.0.0.1 with a free port. */
export function startServer(
  fetch: (
    request: Request,
    info: Deno.ServeHandlerInfo,
  ) => Response | Promise<Response>,
): TestServer {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    fetch,
  );
  return {
    port: server.addr.port,
    close: () => server.shutdown(),
  };
}

/** A `multipart/form-data` body from text and files, with its boundary. */
export function multipartBody(
  boundary: string,
  parts: readonly {
    name: string;
    filename?: string;
    contentType?: string;
    content: string | Uint8Array;
  }[],
): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    let head =
      `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    if (part.contentType) head += `\r\nContent-Type: ${part.contentType}`;
    chunks.push(encoder.encode(head + "\r\n\r\n"));
    chunks.push(
      typeof part.content === "string"
        ? encoder.encode(part.content)
        : part.content,
    );
    chunks.push(encoder.encode("\r\n"));
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  return concat(chunks, chunks.reduce((n, c) => n + c.byteLength, 0));
}
