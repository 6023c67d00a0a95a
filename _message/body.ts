// Reading request bodies within limits: a reader with a read deadline, and
// the whole-body reader behind json()/text()/bytes() and urlencoded forms.
import { release } from "../_runtime/release.ts";
import { requestHeader } from "../_runtime/served_request.ts";
import {
  LengthRequired,
  PayloadTooLarge,
  RequestParseError,
  RequestTimeout,
} from "./errors.ts";

/** A limit: its value and its name in `RequestLimits`, for messages. */
export interface Limit {
  value: number;
  name: string;
}

/**
 * Rejects a declared `Content-Length` over `limit` before anything is read
 * (the bytes that arrive are counted too: the header is only an early
 * reject). `what` says what is limited, for the message.
 */
export function checkDeclaredLength(
  raw: globalThis.Request,
  limit: Limit,
  what: string,
): number | undefined {
  const declared = requestHeader(raw, "content-length");
  if (declared === null) return undefined;
  if (!/^\d+$/.test(declared)) {
    throw new LengthRequired("Malformed Content-Length");
  }
  const length = Number(declared);
  if (length > limit.value) throw tooLarge(what, limit);
  return length;
}

/** The 413 for something over one of the limits, naming the limit. */
export function tooLarge(
  what: string,
  limit: Limit,
  unit = "bytes",
): PayloadTooLarge {
  return new PayloadTooLarge(
    `${what} over the limit of ${limit.value} ${unit} (${limit.name})`,
  );
}

/**
 * Something with a deadline that the shared ticker checks. While watched it
 * is linked into the list of those being watched: a list, not a `Set`,
 * because one entry is added and removed per request, and a `Set` churned
 * that way grew the peak RSS of a form-posting server by 15-20 MiB
 * (bench/README.md).
 */
abstract class Expiring {
  /** The neighbours in the watched list, while watched. */
  previous: Expiring | undefined = undefined;
  next: Expiring | undefined = undefined;

  /** Gives up when `now` is past the deadline; true when it did. */
  abstract expireBy(now: number): boolean;
}

/**
 * Reads a body stream chunk by chunk with a deadline: `read()` gives the
 * next chunk or `undefined` at the end, and throws a 408 once `timeout` ms
 * have passed since the reader was made, or a 400 when the stream fails
 * (the client went away).
 */
export class DeadlineReader extends Expiring {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #deadline: number;
  #timedOut = false;
  #closed = false;

  constructor(body: ReadableStream<Uint8Array>, timeout: number) {
    super();
    this.#reader = body.getReader();
    this.#deadline = Date.now() + timeout;
    watch(this);
  }

  /** Cancels the read when the deadline has passed; true when it has. */
  expireBy(now: number): boolean {
    if (now < this.#deadline) return false;
    this.#timedOut = true;
    this.#reader.cancel().catch(() => {});
    return true;
  }

  async read(): Promise<Uint8Array | undefined> {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await this.#reader.read();
    } catch (cause) {
      this.close();
      if (this.#timedOut) throw new RequestTimeout("Body not received in time");
      throw new RequestParseError("Body could not be read", { cause });
    }
    if (this.#timedOut) {
      this.close();
      throw new RequestTimeout("Body not received in time");
    }
    if (result.done) {
      this.close();
      return undefined;
    }
    return result.value;
  }

  /** Stops the deadline and, unless the body was read whole, cancels it. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    unwatch(this);
    this.#reader.cancel().catch(() => {});
  }
}

/** Reads a body whose length was declared, natively, within `timeout` ms. */
export function readWhole(
  raw: globalThis.Request,
  timeout: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const deadline = new WholeBodyDeadline(raw, timeout, reject);
    watch(deadline);
    raw.bytes().then(
      (bytes) => {
        unwatch(deadline);
        resolve(bytes);
      },
      (cause) => {
        unwatch(deadline);
        reject(new RequestParseError("Body could not be read", { cause }));
      },
    );
  });
}

/** The deadline of a `readWhole`: a 408 and the body cancelled. */
class WholeBodyDeadline extends Expiring {
  #raw: globalThis.Request;
  #expiry: number;
  #reject: (error: RequestTimeout) => void;

  constructor(
    raw: globalThis.Request,
    timeout: number,
    reject: (error: RequestTimeout) => void,
  ) {
    super();
    this.#raw = raw;
    this.#expiry = Date.now() + timeout;
    this.#reject = reject;
  }

  expireBy(now: number): boolean {
    if (now < this.#expiry) return false;
    this.#reject(new RequestTimeout("Body not received in time"));
    this.#raw.body?.cancel().catch(() => {});
    return true;
  }
}

// One shared ticker checks the deadlines of every body being read, instead
// of a timer per request (a timer costs more than a small body's whole
// read). It stops once nothing is being read.
const TICK_MS = 25;
let first: Expiring | undefined;
let ticker: ReturnType<typeof setInterval> | undefined;

function watch(item: Expiring): void {
  item.previous = undefined;
  item.next = first;
  if (first !== undefined) first.previous = item;
  first = item;
  if (ticker === undefined) {
    ticker = setInterval(tick, TICK_MS);
    // A deadline never keeps the process alive: a server shut down with a
    // body still being read exits at once.
    Deno.unrefTimer(ticker);
  }
}

function unwatch(item: Expiring): void {
  // Watched: the first of the list, or one with a previous.
  if (item.previous === undefined) {
    if (item !== first) return;
    first = item.next;
  } else item.previous.next = item.next;
  if (item.next !== undefined) item.next.previous = item.previous;
  item.previous = item.next = undefined;
}

function tick(): void {
  const now = Date.now();
  for (let item = first; item !== undefined;) {
    const next = item.next;
    if (item.expireBy(now)) unwatch(item);
    item = next;
  }
  if (first === undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/**
 * Reads a whole body, counting the bytes that actually arrive: a declared
 * `Content-Length` over `limit` is rejected before reading, a body that
 * grows past it is cancelled with a 413, and one that stalls past `timeout`
 * ms is cancelled with a 408. `what` names the limit in the 413's message.
 * When `ownsBody`, the chunks belong to this request alone and are released
 * once joined.
 */
export async function readLimited(
  raw: globalThis.Request,
  limit: Limit,
  options: { timeout: number; what: string; ownsBody: boolean },
): Promise<Uint8Array> {
  const { timeout, what } = options;
  const declared = checkDeclaredLength(raw, limit, what);
  if (raw.bodyUsed) {
    throw new TypeError("Cannot read the body: it was already read");
  }
  // A declared length within the limit bounds what can arrive (the server
  // reads no further), so the body can be read natively, without ever
  // touching `raw.body`: making that stream and reading it chunk by chunk
  // cost twice the time and over 60 MiB of RSS under load (bench/README.md).
  if (declared === 0) return new Uint8Array(0);
  if (declared !== undefined) return await readWhole(raw, timeout);
  if (!raw.body) return new Uint8Array(0);
  const reader = new DeadlineReader(raw.body, timeout);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let chunk; (chunk = await reader.read()) !== undefined;) {
      size += chunk.byteLength;
      if (size > limit.value) throw tooLarge(what, limit);
      chunks.push(chunk);
    }
  } finally {
    reader.close();
  }
  const joined = concat(chunks, size);
  // Joined into a copy: the chunks of a served body are done with.
  if (chunks.length > 1 && options.ownsBody) chunks.forEach(release);
  return joined;
}

/** Joins chunks whose total length is `size`. */
export function concat(
  chunks: readonly Uint8Array[],
  size: number,
): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Cancels the body of a request that was answered without reading it, so
 * that the server reads and drops the rest of it as it does for a body never
 * touched. Without this, a body whose stream was made (by `request.body`,
 * `bodyUsed` or a request derived from it) but not read ends the connection
 * with a reset once a streamed response is sent, and the client, often still
 * sending, loses the response. A body being read (locked) or read is left
 * alone, and so is one the request does not declare.
 */
export function cancelUnreadBody(raw: globalThis.Request): void {
  if (raw.method === "GET" || raw.method === "HEAD") return;
  const length = requestHeader(raw, "content-length");
  if (length === "0") return;
  if (length === null && requestHeader(raw, "transfer-encoding") === null) {
    return;
  }
  if (raw.bodyUsed) return;
  const body = raw.body;
  if (body === null || body.locked) return;
  body.cancel().catch(() => {});
}
