// Shared private state: the current request's async context, and hooks
// between modules that must not be part of the public API.
import type { Request, RequestLimits, RequestOptions } from "./request.ts";
import { releaseSentBody } from "./_sent_body.ts";

/** Where the current request is kept: `run` it, `getStore` it. */
export interface RequestContext {
  /** Calls `fn(request)` with `request` as the current request. */
  run<R>(request: Request, fn: (request: Request) => R): R;
  /** The current request, if any. */
  getStore(): Request | undefined;
}

// Deno keeps async context in V8's continuation-preserved embedder data: a
// plain object of variables that follows every await. Entering it directly
// costs a fraction of node:async_hooks' AsyncLocalStorage, which keeps each
// value in a WeakMap (about 1 us and 50 MiB of RSS under load, measured in
// bench/README.md). Other variables in the context are kept as they are.
// Where Deno does not expose it, AsyncLocalStorage does the same job.
interface AsyncContextCore {
  getAsyncContext(): Record<PropertyKey, unknown> | undefined;
  setAsyncContext(context: Record<PropertyKey, unknown> | undefined): void;
}

function denoCore(): AsyncContextCore | undefined {
  try {
    // deno-lint-ignore no-explicit-any
    const core = (Deno as any)[(Deno as any).internal]?.core;
    if (
      typeof core?.getAsyncContext === "function" &&
      typeof core?.setAsyncContext === "function"
    ) return core;
  } catch { /* not Deno, or no internals: use the fallback */ }
  return undefined;
}

function contextOnCore(core: AsyncContextCore): RequestContext {
  const key = Symbol("pesto.request");
  // The context of a request when nothing else is in it (the common case):
  // an instance of one class is made in a few ns, where a spread into a
  // null-prototype literal takes some 80 ns.
  class Alone {
    [key]: Request;
    constructor(request: Request) {
      this[key] = request;
    }
  }
  return {
    run(request, fn) {
      const previous = core.getAsyncContext();
      core.setAsyncContext(
        previous === undefined
          ? new Alone(request) as unknown as Record<PropertyKey, unknown>
          : { __proto__: null, ...previous, [key]: request },
      );
      try {
        return fn(request);
      } finally {
        core.setAsyncContext(previous);
      }
    },
    getStore: () => core.getAsyncContext()?.[key] as Request | undefined,
  };
}

async function contextOnAsyncLocalStorage(): Promise<RequestContext> {
  const { AsyncLocalStorage } = await import("node:async_hooks");
  const storage = new AsyncLocalStorage<Request>();
  return {
    run: (request, fn) => storage.run(request, fn, request),
    getStore: () => storage.getStore(),
  };
}

const core = denoCore();

/** The request being handled in this async context. */
export const requestContext: RequestContext = core
  ? contextOnCore(core)
  : await contextOnAsyncLocalStorage();

/**
 * A value kept per object (a web request or response) under a private
 * symbol on the object itself, with the `get`/`set` of a WeakMap. A WeakMap
 * entry per request costs far more: its ephemeron table grew the heap by
 * tens of MiB under load.
 */
export class Slot<O extends object, V> {
  /**
   * The symbol the value is kept under. A hot path reads
   * `object[slot.key]` itself: a read site that only ever sees one key is
   * fast, where `get`, shared by every slot, sees them all.
   */
  readonly key: symbol;

  constructor(name: string) {
    this.key = Symbol(name);
  }

  get(object: O): V | undefined {
    return (object as unknown as Record<symbol, V | undefined>)[this.key];
  }

  set(object: O, value: V): this {
    (object as unknown as Record<symbol, V>)[this.key] = value;
    return this;
  }
}

/** A value kept per web request. */
export class RequestSlot<V> extends Slot<globalThis.Request, V> {}

/**
 * Runs the `onClose` callbacks of a response that has no body to watch
 * (kept on the response itself; see {@linkcode Slot}).
 */
export const closeWithoutBody: Slot<globalThis.Response, () => void> = new Slot(
  "pesto.closeWithoutBody",
);

/**
 * Runs what waits for the response to be sent (the `onClose` callbacks of a
 * response without a body, the cleanups of `raw`, and the release of the
 * runtime's copy of a byte body, see `_sent_body.ts`): through
 * `Deno.serve`'s `completed` promise when there is one (it settles when the
 * response is sent or the client went away), else on the next turn of the
 * event loop.
 */
export function afterSent(
  response: globalThis.Response,
  info: Deno.ServeHandlerInfo | undefined,
  raw?: globalThis.Request,
): void {
  // Deno.serve keeps a request's headers readable after the response only
  // when they were read before it (Pesto reads Host without that); onClose
  // callbacks run afterwards and may read them.
  let close: (() => void) | undefined;
  if (internals.hasOnClose(response)) {
    if (raw) void raw.headers;
    close = closeWithoutBody.get(response);
  }
  let cleanup: (() => void) | undefined;
  if (raw && raw.method !== "GET" && raw.method !== "HEAD") {
    const list = cleanupsOf(raw);
    // Nothing registered yet: what is registered from now on runs at once.
    if (list === undefined) setCleanups(raw, "done");
    else if (list !== "done") cleanup = () => void runRequestCleanups(raw);
  }
  if (info) releaseSentBody(response, info);
  if (!close && !cleanup) return;
  const run = () => {
    close?.();
    cleanup?.();
  };
  // Deno makes `completed` on first access: touch it only when needed.
  const completed = info?.completed;
  if (completed) completed.then(run, run);
  else setTimeout(run, 0);
}

// What to do once the response to a web request has been sent (remove the
// temporary files of its uploads); "done" once that has run. Kept under a
// private symbol on the web request itself: a WeakMap entry per request
// costs far more (ephemeron tables grew the heap by tens of MiB under load).
type Cleanups = (() => Promise<void>)[] | "done";
const kCleanups = Symbol("pesto.cleanups");

function cleanupsOf(raw: globalThis.Request): Cleanups | undefined {
  return (raw as { [kCleanups]?: Cleanups })[kCleanups];
}

function setCleanups(raw: globalThis.Request, cleanups: Cleanups): void {
  (raw as { [kCleanups]?: Cleanups })[kCleanups] = cleanups;
}

/**
 * Registers `cleanup` to run once the response to `raw` has been sent (see
 * {@linkcode afterSent}); when that has already happened, runs it now.
 */
export function onRequestDone(
  raw: globalThis.Request,
  cleanup: () => Promise<void>,
): void {
  const list = cleanupsOf(raw);
  if (list === "done") cleanup().catch(logCleanupError);
  else addCleanup(raw, list, cleanup);
}

/**
 * Registers `cleanup` to run once the response to `raw` has been sent, as
 * {@linkcode onRequestDone} does, unless the response is already known: then
 * it never runs (for work that must not run while the response may still
 * read the request, such as releasing its body).
 */
export function beforeRequestDone(
  raw: globalThis.Request,
  cleanup: () => Promise<void>,
): void {
  const list = cleanupsOf(raw);
  if (list !== "done") addCleanup(raw, list, cleanup);
}

function addCleanup(
  raw: globalThis.Request,
  list: (() => Promise<void>)[] | undefined,
  cleanup: () => Promise<void>,
): void {
  if (list) list.push(cleanup);
  else setCleanups(raw, [cleanup]);
}

/**
 * Runs the cleanups of `raw` once (later ones run as they are registered);
 * the promise settles when they are done.
 */
export async function runRequestCleanups(
  raw: globalThis.Request,
): Promise<void> {
  const list = cleanupsOf(raw);
  setCleanups(raw, "done");
  if (!Array.isArray(list)) return;
  await Promise.all(list.map((cleanup) => cleanup().catch(logCleanupError)));
}

function logCleanupError(error: unknown): void {
  console.error("Error while cleaning up after a request:", error);
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
export const requestOverrides: RequestSlot<RequestOverrides> = new RequestSlot(
  "pesto.overrides",
);

/** Hooks that modules fill in for one another. */
export const internals: {
  /** The same response for a HEAD request: headers kept, body dropped. */
  withoutBody: (response: globalThis.Response) => globalThis.Response;
  /** Whether a response is a Pesto `Response` with `onClose` callbacks. */
  hasOnClose: (response: globalThis.Response) => boolean;
  /** Overrides some limits of a request (a route's own limits). */
  setLimits: (request: Request, limits: RequestLimits) => void;
  /**
   * Wraps a web request whose Host header a fetch entry point has already
   * read and checked, so that it is read once.
   */
  served: (
    raw: globalThis.Request,
    options: RequestOptions,
    host: string | null,
  ) => Request;
} = {
  withoutBody: (response) => response,
  hasOnClose: () => false,
  setLimits: () => {},
  served: () => {
    throw new TypeError("Cannot wrap a request: request.ts is not loaded");
  },
};
