// The runtime's copy of a response's bytes, handed back once it was sent.
//
// A web `Response` made from bytes keeps its own copy of them (the Fetch
// standard's "extract a body" copies a BufferSource), and `Deno.serve` holds
// on to that copy only while it writes it; the copy is then left to a
// garbage collection that, under load, comes too seldom for large buffers
// (as it does for request bodies, see `release.ts`): a Pesto app answering
// 80 KB bodies from memory peaked at 138-139 MB of RSS, and at 61-62 MB once
// each copy was released after sending (bench/README.md).
//
// The copy is released only when the server itself consumed the response:
// Deno marks a response it sent under a private symbol of the response,
// which reading the body in JavaScript does not set. The bytes that
// `bytes()`, `arrayBuffer()` or a reader of `body` hand out are that very
// copy, so a response whose body JavaScript read (a middleware that kept
// them, say) is never touched, and neither is one whose body became a stream
// (`body`). A clone is another matter: in Deno 2.9 `clone()` of a byte body
// leaves both responses on the very same bytes, so the original can be sent
// while the clone's bytes are still to be read. The caller therefore offers
// only responses that were never cloned (Pesto's `Response` marks itself
// when cloned; a web `Response` is never offered), and
// `_test/sent_body_stress_test.ts` checks every byte of concurrent answers.
// A runtime that keeps these records differently gets nothing released: the
// answer is the same, the memory comes back later.

import { release } from "./release.ts";

// The symbols of a response's inner record and of the server's mark, found
// on the first response that has both, and kept once found (never a miss:
// a response made some other way cannot turn the release off).
let keys: { inner: symbol; sent: symbol } | undefined;

/** Bytes and buffers smaller than this are left to the collector. */
const MIN_SIZE = 4096;

function findKeys(
  response: globalThis.Response,
): { inner: symbol; sent: symbol } | undefined {
  let inner: symbol | undefined;
  let sent: symbol | undefined;
  const record = response as unknown as Record<symbol, unknown>;
  for (const key of Object.getOwnPropertySymbols(response)) {
    const value = record[key];
    if (key.description === "serve fast consumed") {
      if (typeof value === "boolean") sent = key;
    } else if (
      typeof value === "object" && value !== null && "headerList" in value &&
      "body" in value
    ) inner = key;
  }
  return inner && sent ? { inner, sent } : undefined;
}

/** The runtime's bytes of `response`'s body, if it holds them as bytes. */
function staticBytes(
  response: globalThis.Response,
  inner: symbol,
): Uint8Array | undefined {
  const record = (response as unknown as Record<symbol, InnerResponse>)[inner];
  const bytes = record?.body?.streamOrStatic?.body;
  return bytes instanceof Uint8Array ? bytes : undefined;
}

interface InnerResponse {
  body?: { streamOrStatic?: { body?: unknown } } | null;
}

/**
 * Once `response` has been sent (`info.completed`), releases the runtime's
 * copy of its bytes when they are 4 KiB or more, the server itself consumed
 * them, and `mayRelease(response)` still says so then (the response was not
 * cloned meanwhile).
 */
export function releaseSentBody(
  response: globalThis.Response,
  info: Deno.ServeHandlerInfo,
  mayRelease: (response: globalThis.Response) => boolean,
): void {
  keys ??= findKeys(response);
  if (keys === undefined) return;
  const bytes = staticBytes(response, keys.inner);
  if (!bytes || bytes.byteLength < MIN_SIZE) return;
  // An info made by hand (a test passing `remoteAddr`) has no `completed`.
  const completed = info.completed as Promise<void> | undefined;
  if (!completed) return;
  const sent = keys.sent;
  const releaseIfSent = () => {
    if (
      (response as unknown as Record<symbol, unknown>)[sent] &&
      mayRelease(response)
    ) {
      release(bytes);
    }
  };
  completed.then(releaseIfSent, releaseIfSent);
}

/**
 * Whether the runtime's copy of a sent response's bytes can be found and
 * released (its inner record and the server's "serve fast consumed" mark,
 * under private symbols of the response), once a response has been sent.
 */
export function sentBodyFastPath(): boolean {
  return keys !== undefined;
}
