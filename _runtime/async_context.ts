// The request being handled in this async context (`currentRequest()`).
//
// Deno keeps async context in V8's continuation-preserved embedder data: a
// plain object of variables that follows every await. Entering it directly
// costs a fraction of node:async_hooks' AsyncLocalStorage, which keeps each
// value in a WeakMap (about 1 us and 50 MiB of RSS under load, measured in
// bench/README.md). Other variables in the context are kept as they are.
// Where Deno does not expose it, AsyncLocalStorage does the same job, and
// `asyncContextFastPath()` says so (a test fails loudly on the pinned Deno).

/** What the lower layers ask of the current request. */
export interface CurrentRequest {
  /** The absolute URI of the request, relative redirects resolve from it. */
  readonly requestUri: string;
}

/** Where the current request is kept: `run` it, `getStore` it. */
export interface RequestContext {
  /** Calls `fn(request)` with `request` as the current request. */
  run<T extends CurrentRequest, R>(request: T, fn: (request: T) => R): R;
  /** The current request, if any. */
  getStore(): CurrentRequest | undefined;
}

interface AsyncContextCore {
  getAsyncContext(): Record<PropertyKey, unknown> | undefined;
  setAsyncContext(context: Record<PropertyKey, unknown> | undefined): void;
}

/** The runtime's core, when it has the async context functions. */
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
    [key]: CurrentRequest;
    constructor(request: CurrentRequest) {
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
    getStore: () => core.getAsyncContext()?.[key] as CurrentRequest | undefined,
  };
}

async function contextOnAsyncLocalStorage(): Promise<RequestContext> {
  const { AsyncLocalStorage } = await import("node:async_hooks");
  const storage = new AsyncLocalStorage<CurrentRequest>();
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
 * Whether the current request is kept through the runtime's own async
 * context (`Deno[Deno.internal].core.getAsyncContext`), not the slower
 * AsyncLocalStorage.
 */
export function asyncContextFastPath(): boolean {
  return core !== undefined;
}
