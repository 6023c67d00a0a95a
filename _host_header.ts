// The Host header of a web request, and the headers a body reader needs,
// read without exposing its `Headers`.
//
// A request from `Deno.serve` makes its `Headers` object on first access,
// and once it exists Deno copies every request header out of Rust when the
// response is sent (so that the object stays readable afterwards). Pesto
// reads Host on every request (security.md, rule 1), so reading it through
// `request.headers` cost about 0.4 us per request of a hello-world app, a
// tenth of raw Deno.serve's whole budget (bench/README.md). Deno's own
// `headers.get("host")` reads the one header from the request's inner
// record, which Deno keeps under a private symbol of the request; this reads
// it from there the same way. A request without such a record (one made
// with `new Request()`, or a runtime that keeps it differently) has its
// `Headers` read instead: the answer is the same, only slower. The body
// readers read `Content-Type` and `Content-Length` the same way, so that a
// form post does not pay for the copy either (bench/README.md); once the
// request is closed they fall back to its `Headers`. What this does not see
// is a header changed in place with `request.headers.set()` on a served
// request; useXForwarded, which changes Host, passes on a new request (read
// through its `Headers`), and mount passes request overrides.

type Inner = {
  header?: (name: string) => string | null;
  url?: unknown;
};

// The symbol of the inner record, found on the first request that has one:
// undefined until looked for, null when the runtime has none.
let innerKey: symbol | null | undefined;

/**
 * Whether `value` looks like Deno's inner record of a request (of any
 * request: only those of served requests have `header`).
 */
function isInner(value: unknown): boolean {
  return typeof value === "object" && value !== null &&
    "headerList" in value && typeof (value as Inner).url === "function";
}

function findInnerKey(raw: globalThis.Request): symbol | null {
  for (const key of Object.getOwnPropertySymbols(raw)) {
    if (isInner((raw as unknown as Record<symbol, unknown>)[key])) return key;
  }
  return null;
}

/**
 * The value of one of `raw`'s headers, as `raw.headers.get(name)` gives it
 * (several values joined by ", "), or `null`; read from the inner record of
 * a served request while it is open, else through `raw.headers`.
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
 * Whether `raw` came from `Deno.serve`: its inner record reads headers from
 * the server, and its body arrives in buffers that belong to it alone.
 */
export function isServed(raw: globalThis.Request): boolean {
  return servedInner(raw) !== undefined;
}

/** The inner record of a request from `Deno.serve`, if `raw` is one. */
function servedInner(
  raw: globalThis.Request,
): Required<Pick<Inner, "header">> | undefined {
  if (innerKey === undefined) innerKey = findInnerKey(raw);
  if (!innerKey) return undefined;
  const inner = (raw as unknown as Record<symbol, Inner | undefined>)[innerKey];
  return typeof inner?.header === "function"
    ? inner as Required<Pick<Inner, "header">>
    : undefined;
}

/**
 * The value of `raw`'s Host header (as `raw.headers.get("host")` gives
 * it), or `null`.
 */
export function hostHeader(raw: globalThis.Request): string | null {
  return requestHeader(raw, "host");
}
