// The content of a response: what a Pesto `Response` is made from (a
// string, bytes, chunks or a stream, with headers as a record), worked out
// into the web body and init, quickly when simple, and the callbacks run
// once its body is sent.
import { Html } from "./html.ts";

/** One chunk of response content. */
export type Chunk = string | Uint8Array;

/**
 * What a {@linkcode Response} can carry: a string, bytes, an iterable or
 * async iterable of string/bytes chunks (Pesto's list of chunks, or a
 * generator), a `ReadableStream`, any other web `BodyInit` (a `Blob`,
 * `FormData`, `URLSearchParams`), an `Html` value (its text, sent as
 * `text/html; charset=UTF-8` unless told otherwise), or nothing.
 */
export type ResponseContent =
  | Chunk
  | Html
  | Iterable<Chunk>
  | AsyncIterable<Chunk>
  | ReadableStream<Uint8Array>
  | Blob
  | FormData
  | URLSearchParams
  | ArrayBuffer
  | null
  | undefined;

/**
 * Headers as a web `HeadersInit` or as a record whose `null`/`undefined`
 * values are skipped and whose array values repeat the header.
 */
export type HeadersRecord = Record<
  string,
  string | number | readonly (string | number)[] | null | undefined
>;

/** Headers in any form a {@linkcode Response} accepts. */
export type ResponseHeaders = HeadersInit | HeadersRecord;

/** Options of `new Response(content, init)`. */
export interface ResponseOptions {
  /**
   * The status code.
   * @default {200}
   */
  status?: number;
  /**
   * The reason phrase.
   * @default {STATUS_TEXT[status]}
   */
  statusText?: string;
  /** The headers. */
  headers?: ResponseHeaders;
  /**
   * The media type, for the `Content-Type` header (a `charset` is added to
   * `text/*` types, and to others when `charset` is given: `text/html` gives
   * `text/html; charset=UTF-8`). Plain UTF-8 text is spelled as the web
   * platform spells it, `text/plain;charset=UTF-8`, the type the runtime
   * gives a string body at no cost.
   * @default {"text/html"}
   */
  contentType?: string;
  /**
   * The charset that string chunks are encoded with. `UTF-8`, `ISO-8859-1`
   * (`latin1`) and `US-ASCII` are supported; for any other, pass bytes.
   * @default {"UTF-8"}
   */
  charset?: string;
}

const DEFAULT_CONTENT_TYPE = "text/html; charset=UTF-8";
// Plain UTF-8 text, spelled as the web platform spells it: the type a string
// body gets from the runtime itself, which costs nothing, where any header
// given in a response init is converted and checked character by character
// (about 200 ns a response here).
const WEB_TEXT = "text/plain;charset=UTF-8";
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const encoder = new TextEncoder();

// The callbacks given to the constructor by modifiers, under a private key
// of the options object so they never show in the public signature.
export const kCallbacks = Symbol("pesto.callbacks");
/** Response options with the callbacks a modifier carries over. */
export type DerivedOptions = ResponseOptions & {
  [kCallbacks]?: readonly Callback[];
};
/** Headers as `[name, value]` pairs. */
export type HeaderPairs = [string, string][];

/** A function run once a response's body is sent (see `onClose`). */
export type Callback = () => unknown;

const NO_CALLBACKS: readonly Callback[] = Object.freeze([]);
// Web Response inits by (status, content type, charset): computed once,
// reused for every plain response.
const plainInits = new Map<
  number,
  Map<string | undefined, Map<string | undefined, PlainInit>>
>();

/** The web body and init of a response, and what it keeps. */
export interface Prepared {
  body: BodyInit | null;
  init: ResponseInit | undefined;
  charset: string;
  callbacks: readonly Callback[];
}

/** Works out the web body and init of a `Response`, quickly when simple. */
export function prepare(
  content: ResponseContent,
  init: ResponseOptions,
): Prepared {
  const status = init.status ?? 200;
  const callbacks = (init as DerivedOptions)[kCallbacks] ?? NO_CALLBACKS;
  // HTML is its text: the default type is already text/html.
  if (content instanceof Html) content = content.toString();
  if (
    init.headers === undefined && init.statusText === undefined &&
    callbacks.length === 0 &&
    (typeof content === "string" || content === null || content === undefined)
  ) {
    return preparePlain(content, init, status);
  }
  const headers = headerPairs(init.headers);
  const typed = content instanceof FormData || content instanceof Blob ||
    content instanceof URLSearchParams;
  const existing = findHeader(headers, "content-type");
  let charset: string;
  if (existing !== undefined) {
    charset = normaliseCharset(charsetOf(existing) ?? init.charset);
  } else {
    charset = normaliseCharset(init.charset);
    const type = typed && init.contentType === undefined
      ? undefined
      : contentTypeOf(status, init);
    if (type !== undefined) headers.push(["content-type", type]);
  }
  let body = makeBody(content, charset);
  // A string body would get the web default "text/plain" type: keep none.
  if (
    typeof body === "string" &&
    findHeader(headers, "content-type") === undefined
  ) {
    body = encoder.encode(body);
  }
  if (callbacks.length && body !== null && !NULL_BODY_STATUS.has(status)) {
    body = watchBody(toStream(body), callbacks);
  }
  if (NULL_BODY_STATUS.has(status)) body = null;
  return {
    body,
    init: { status, statusText: init.statusText, headers },
    charset,
    callbacks,
  };
}

/** The common case: text or nothing, no headers, no callbacks. */
function preparePlain(
  content: string | null | undefined,
  init: ResponseOptions,
  status: number,
): Prepared {
  const plain = plainInit(init, status);
  let body: BodyInit | null =
    plain.nullBody || content === undefined || content === null
      ? null
      : plain.charset === "utf-8"
      ? content
      : encode(content, plain.charset);
  if (typeof body === "string" && !plain.hasType) body = encoder.encode(body);
  return {
    body,
    init: plain.init,
    charset: plain.charset,
    callbacks: NO_CALLBACKS,
  };
}

interface PlainInit {
  init: ResponseInit | undefined;
  charset: string;
  hasType: boolean;
  nullBody: boolean;
}

/** The web init for a status, content type and charset, computed once. */
function plainInit(init: ResponseOptions, status: number): PlainInit {
  // Most responses in a row have the same status, type and charset.
  const last = lastPlain;
  if (
    last !== undefined && last.status === status &&
    last.contentType === init.contentType && last.charset === init.charset
  ) return last.plain;
  let byType = plainInits.get(status);
  if (byType === undefined) plainInits.set(status, byType = new Map());
  let byCharset = byType.get(init.contentType);
  if (byCharset === undefined) {
    byType.set(init.contentType, byCharset = new Map());
  }
  let plain = byCharset.get(init.charset);
  if (plain === undefined) {
    const contentType = contentTypeOf(status, init);
    plain = {
      // Plain text gets its type from the runtime, the body being a string
      // (see WEB_TEXT). JSON's header as one plain object, which Deno takes
      // as it is (`Response.json` 283 -> 153 ns). Else a Headers object,
      // never changed: Deno copies one into a response faster than it
      // converts pairs (about 190 ns against 270 ns).
      // A 200 of it gets no init at all: the runtime's quickest path.
      init: contentType === WEB_TEXT
        ? status === 200 ? undefined : { status }
        : contentType === "application/json"
        ? { status, headers: { "content-type": contentType } }
        : {
          status,
          headers: new Headers(
            contentType ? [["content-type", contentType]] : [],
          ),
        },
      charset: normaliseCharset(init.charset),
      hasType: contentType !== undefined,
      nullBody: NULL_BODY_STATUS.has(status),
    };
    // Bounded: content types built from request data must not grow it forever.
    if (byCharset.size < 64 && byType.size < 256) {
      byCharset.set(init.charset, plain);
    }
  }
  lastPlain = {
    status,
    contentType: init.contentType,
    charset: init.charset,
    plain,
  };
  return plain;
}

let lastPlain: {
  status: number;
  contentType: string | undefined;
  charset: string | undefined;
  plain: PlainInit;
} | undefined;

/** Headers in any accepted form, as `[name, value]` pairs. */
export function headerPairs(init: ResponseHeaders | undefined): HeaderPairs {
  const pairs: HeaderPairs = [];
  if (init === undefined) return pairs;
  if (init instanceof Headers) {
    init.forEach((value, name) => pairs.push([name, value]));
  } else if (Array.isArray(init) || Symbol.iterator in init) {
    for (const pair of init as Iterable<readonly string[]>) {
      if (pair.length !== 2) {
        throw new TypeError(
          "Cannot use headers: each pair needs a name and a value",
        );
      }
      pairs.push([String(pair[0]), String(pair[1])]);
    }
  } else {
    for (const [name, value] of Object.entries(init as HeadersRecord)) {
      if (value === null || value === undefined) continue;
      if (Array.isArray(value)) {
        for (const v of value) pairs.push([name, String(v)]);
      } else pairs.push([name, String(value)]);
    }
  }
  return pairs;
}

/** The value of header `lowerName` among `pairs`, case-insensitively. */
export function findHeader(
  pairs: HeaderPairs,
  lowerName: string,
): string | undefined {
  for (const [name, value] of pairs) {
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      return value;
    }
  }
  return undefined;
}

/**
 * The Content-Type a response gets when its headers have none: the default
 * `text/html; charset=UTF-8`, or one built from `contentType` and
 * `charset`; none for null-body statuses or `contentType: ""`.
 */
function contentTypeOf(
  status: number,
  init: ResponseOptions,
): string | undefined {
  if (NULL_BODY_STATUS.has(status) || init.contentType === "") return undefined;
  if (init.contentType === undefined && init.charset === undefined) {
    return DEFAULT_CONTENT_TYPE;
  }
  const type = init.contentType ?? "text/html";
  const wantsCharset = init.charset !== undefined || type.startsWith("text/");
  if (!wantsCharset || /;\s*charset=/i.test(type)) return type;
  if (
    type.toLowerCase() === "text/plain" &&
    normaliseCharset(init.charset) === "utf-8"
  ) return WEB_TEXT;
  return `${type}; charset=${init.charset ?? "UTF-8"}`;
}

/** The `charset` parameter of a `Content-Type` value. */
export function charsetOf(
  contentType: string | null | undefined,
): string | undefined {
  if (!contentType) return undefined;
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return match?.[1];
}

function normaliseCharset(charset: string | undefined): string {
  if (charset === undefined) return "utf-8";
  const lower = charset.toLowerCase();
  if (lower === "utf-8" || lower === "utf8") return "utf-8";
  if (["iso-8859-1", "latin1", "latin-1", "iso8859-1"].includes(lower)) {
    return "latin1";
  }
  if (lower === "us-ascii" || lower === "ascii") return "ascii";
  return lower;
}

/** The byte length of content that is already in memory, else undefined. */
export function knownLength(
  content: ResponseContent,
  charset: string,
): number | undefined {
  if (content instanceof Html) content = content.toString();
  if (typeof content === "string") return encode(content, charset).byteLength;
  if (content instanceof Uint8Array) return content.byteLength;
  if (content instanceof ArrayBuffer) return content.byteLength;
  if (Array.isArray(content)) {
    let total = 0;
    for (const chunk of content as Chunk[]) {
      total += encode(chunk, charset).byteLength;
    }
    return total;
  }
  return undefined;
}

function encode(chunk: Chunk, charset: string): Uint8Array<ArrayBuffer> {
  if (typeof chunk !== "string") return chunk as Uint8Array<ArrayBuffer>;
  if (charset === "utf-8") return encoder.encode(chunk);
  const limit = charset === "ascii" ? 0x80 : charset === "latin1" ? 0x100 : 0;
  if (limit === 0) {
    throw new TypeError(
      `Cannot encode text as "${charset}": pass bytes, or use UTF-8 or ISO-8859-1`,
    );
  }
  const bytes = new Uint8Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) {
    const code = chunk.charCodeAt(i);
    bytes[i] = code < limit ? code : 0x3f; // "?" for what the charset lacks
  }
  return bytes;
}

function makeBody(content: ResponseContent, charset: string): BodyInit | null {
  if (content === null || content === undefined) return null;
  if (typeof content === "string") {
    return charset === "utf-8" ? content : encode(content, charset);
  }
  if (
    content instanceof Uint8Array || content instanceof ReadableStream ||
    content instanceof Blob || content instanceof FormData ||
    content instanceof URLSearchParams || content instanceof ArrayBuffer
  ) {
    return content as BodyInit;
  }
  if (
    Array.isArray(content) && charset === "utf-8" &&
    content.every((c) => typeof c === "string")
  ) {
    return content.join("");
  }
  if (Symbol.asyncIterator in content) {
    return ReadableStream.from(encodeAsync(content, charset));
  }
  if (Symbol.iterator in content) {
    return ReadableStream.from(encodeSync(content, charset));
  }
  throw new TypeError(
    "Cannot make a response body: give a string, bytes, an iterable of chunks or a stream",
  );
}

function* encodeSync(
  chunks: Iterable<Chunk>,
  charset: string,
): Generator<Uint8Array> {
  for (const chunk of chunks) yield encode(chunk, charset);
}

async function* encodeAsync(
  chunks: AsyncIterable<Chunk>,
  charset: string,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield encode(chunk, charset);
}

function toStream(body: BodyInit): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  return new globalThis.Response(body).body!;
}

function watchBody(
  stream: ReadableStream<Uint8Array>,
  callbacks: readonly Callback[],
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  const finish = () => runCallbacks(callbacks);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          await finish();
        } else controller.enqueue(value);
      } catch (error) {
        await finish();
        controller.error(error);
      }
    },
    async cancel(reason) {
      try {
        await reader.cancel(reason);
      } finally {
        await finish();
      }
    },
  });
}

export function once(callback: Callback): Callback {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    return callback();
  };
}

export async function runCallbacks(
  callbacks: readonly Callback[],
): Promise<void> {
  for (const callback of callbacks) {
    try {
      await callback();
    } catch (error) {
      console.error("Error in a Response.onClose callback:", error);
    }
  }
}
