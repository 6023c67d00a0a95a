// The headers of a request from `Deno.serve`, read without making its
// `Headers` object, and whether a request is the server's own.
//
// A request from `Deno.serve` makes its `Headers` object on first access,
// and once it exists Deno copies every request header out of Rust when the
// response is sent (so that the object stays readable afterwards). Pesto
// reads Host on every request (security.md, rule 1), so reading it through
// `request.headers` cost about 0.4 us per request of a hello-world app, a
// tenth of raw Deno.serve's whole budget (bench/README.md). Deno's own
// `headers.get("host")` reads the one header from the request's inner
// record, which Deno keeps under a private symbol of the request; this reads
// it from there the same way. The body readers read `Content-Type` and
// `Content-Length` the same way, so that a form post does not pay for the
// copy either; once the request is closed they fall back to its `Headers`.
//
// The symbol is looked for only on a request that a fetch entry was handed
// with the server's connection info, and kept once found, never a miss: a
// request made with `new Request()` (or a Pesto `Request` handed to a fetch
// handler) cannot turn the fast path off. A request without such a record,
// or a runtime that keeps it differently, has its `Headers` read instead:
// the answer is the same, only slower, and `servedRequestFastPath()` says
// so (a test fails loudly on the pinned Deno). What this does not see is a
// header changed in place with `request.headers.set()` on a served request;
// the library's middlewares pass on new requests instead.

interface Inner {
  header?: (name: string) => string | null;
  url?: unknown;
}

// The symbol of the inner record, once found on a request from the server.
let innerKey: symbol | undefined;

/** Whether `value` is Deno's inner record of a request from the server. */
function isServedInner(value: unknown): boolean {
  return typeof value === "object" && value !== null &&
    "headerList" in value && typeof (value as Inner).url === "function" &&
    typeof (value as Inner).header === "function";
}

function findInnerKey(raw: globalThis.Request): symbol | undefined {
  const record = raw as unknown as Record<symbol, unknown>;
  for (const key of Object.getOwnPropertySymbols(raw)) {
    if (isServedInner(record[key])) return key;
  }
  return undefined;
}

/** The inner record of `raw` when it is a request from the server. */
function servedInner(raw: globalThis.Request): Required<Inner> | undefined {
  if (innerKey === undefined) return undefined;
  const inner = (raw as unknown as Record<symbol, Inner | undefined>)[innerKey];
  return typeof inner?.header === "function"
    ? inner as Required<Inner>
    : undefined;
}

/**
 * Looks for the runtime's record on `raw` when it was handed over with the
 * server's connection info (`info.completed`), unless it was found already
 * (one comparison then).
 */
export function noteServerRequest(
  raw: globalThis.Request,
  info: Deno.ServeHandlerInfo | undefined,
): void {
  if (innerKey === undefined && info !== undefined && "completed" in info) {
    innerKey = findInnerKey(raw);
  }
}

/**
 * Whether `raw` is a request that `Deno.serve` made: its headers are read
 * from the server, and its body arrives in buffers that belong to it alone.
 * Call it only with a request handed over with the server's connection
 * info (it looks for the runtime's record the first time).
 */
export function isServerRequest(raw: globalThis.Request): boolean {
  if (innerKey === undefined) innerKey = findInnerKey(raw);
  return servedInner(raw) !== undefined;
}

/**
 * The value of one of `raw`'s headers, as `raw.headers.get(name)` gives it
 * (several values joined by ", "), or `null`; read from the inner record of
 * a request from the server while it is open, else through `raw.headers`.
 */
export function requestHeader(
  raw: globalThis.Request,
  name: string,
): string | null {
  const inner = servedInner(raw);
  if (inner) {
    try {
      return inner.header(name);
    } catch { /* the request is closed: its Headers may still be read */ }
  }
  return raw.headers.get(name);
}

/**
 * The value of `raw`'s Host header (as `raw.headers.get("host")` gives
 * it), or `null`.
 */
export function hostHeader(raw: globalThis.Request): string | null {
  return requestHeader(raw, "host");
}

/**
 * Whether the headers of requests from the server are read from the
 * runtime's inner record (`header()` under a private symbol of the request),
 * once a request from the server has been seen.
 */
export function servedRequestFastPath(): boolean {
  return innerKey !== undefined;
}
