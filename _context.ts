// Shared private state: the current request's async context, and hooks
// between modules that must not be part of the public API.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Request, RequestLimits } from "./request.ts";

/** The request being handled in this async context. */
export const requestContext: AsyncLocalStorage<Request> = new AsyncLocalStorage<
  Request
>();

/** Runs the `onClose` callbacks of a response that has no body to watch. */
export const closeWithoutBody: WeakMap<globalThis.Response, () => void> =
  new WeakMap();

/**
 * Runs `run` once the response is sent: through `Deno.serve`'s `completed`
 * promise when there is one, else on the next turn of the event loop.
 */
export function afterSent(
  response: globalThis.Response,
  completed: Promise<void> | undefined,
): void {
  const run = closeWithoutBody.get(response);
  if (!run) return;
  if (completed) completed.then(run, run);
  else setTimeout(run, 0);
}

/**
 * What middlewares tell a Pesto `Request` about a web request they pass on:
 * the script name it is mounted under and the original URL (`mount`), the
 * client address behind a trusted proxy (`useXForwarded`).
 */
export interface RequestOverrides {
  /** The decoded script name. */
  scriptName?: string;
  /** The URL to read the target from, instead of the web request's. */
  url?: string;
  /** The Host to validate with that URL. */
  host?: string | null;
  /** The client address. */
  remoteAddr?: string;
}

/** Overrides by web request; read when a Pesto `Request` wraps one. */
export const requestOverrides: WeakMap<globalThis.Request, RequestOverrides> =
  new WeakMap();

/** Hooks that modules fill in for one another. */
export const internals: {
  /** The same response for a HEAD request: headers kept, body dropped. */
  withoutBody: (response: globalThis.Response) => globalThis.Response;
  /** Overrides some limits of a request (a route's own limits). */
  setLimits: (request: Request, limits: RequestLimits) => void;
} = {
  withoutBody: (response) => response,
  setLimits: () => {},
};
