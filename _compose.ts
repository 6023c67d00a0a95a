// Helpers shared by the middlewares: deriving a web request that keeps what
// the library knows about the original, and changing a response's headers
// whatever kind of response it is.
import {
  afterSent,
  type RequestOverrides,
  requestOverrides,
} from "./_context.ts";
import { sessionOf } from "./_session_state.ts";
import { Response } from "./response.ts";

/** A fetch handler in the broad sense: Hono's `app.fetch` is one. */
export type AnyFetch = (
  request: globalThis.Request,
  info?: Deno.ServeHandlerInfo,
) => globalThis.Response | Promise<globalThis.Response>;

/** The fetch function of an app or a fetch handler. */
export function fetchOf(app: AnyFetch | { fetch: AnyFetch }): AnyFetch {
  if (typeof app === "function") return app;
  if (app && typeof app.fetch === "function") {
    return (request, info) => app.fetch(request, info);
  }
  throw new TypeError(
    "Cannot use the app: it is neither a fetch handler nor an object with a fetch method",
  );
}

/**
 * A copy of `raw` for `url` (method, headers and body kept), with
 * the session and overrides of `raw` carried over and `overrides` applied.
 */
export function deriveRequest(
  raw: globalThis.Request,
  url: string,
  overrides?: RequestOverrides,
  init?: RequestInit,
): globalThis.Request {
  const derived = new globalThis.Request(url, {
    method: raw.method,
    headers: raw.headers,
    body: raw.body,
    ...init,
  });
  const session = sessionOf.get(raw);
  if (session) sessionOf.set(derived, session);
  const previous = requestOverrides.get(raw);
  if (previous || overrides) {
    requestOverrides.set(derived, { ...previous, ...overrides });
  }
  return derived;
}

/** A copy of `raw` that shares its session and overrides (body teed). */
export function cloneRequest(raw: globalThis.Request): globalThis.Request {
  const clone = raw.clone();
  const session = sessionOf.get(raw);
  if (session) sessionOf.set(clone, session);
  const overrides = requestOverrides.get(raw);
  if (overrides) requestOverrides.set(clone, overrides);
  return clone;
}

/**
 * The response with changed headers: a Pesto `Response` is derived (its
 * `onClose` callbacks kept), a web response is changed in place when its
 * headers are mutable and copied otherwise.
 */
export function withHeaders(
  response: globalThis.Response,
  change: (headers: Headers) => void,
): globalThis.Response {
  if (response instanceof Response) {
    const headers = new Headers(response.headers);
    change(headers);
    return response.replace({ headers });
  }
  try {
    change(response.headers);
    return response;
  } catch {
    const copy = new globalThis.Response(response.body, response);
    change(copy.headers);
    return copy;
  }
}

/**
 * A body-less response that replaces `response`: the old body is cancelled
 * (which runs its `onClose` callbacks) and the new one's run once sent.
 */
export function replaceWithoutBody(
  response: globalThis.Response,
  status: number,
  headers: Headers,
  info: Deno.ServeHandlerInfo | undefined,
): Response {
  response.body?.cancel().catch(() => {});
  const replacement = new Response(null, { status, headers, contentType: "" });
  afterSent(replacement, info);
  return replacement;
}
