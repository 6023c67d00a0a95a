// `compose()`: middlewares chained into one.
import {
  asFetch,
  type DualHandler,
  type FetchApp,
  fetchEntry,
  type Middleware,
  type PestoHandlerNeedsToHandler,
} from "../_handler.ts";

/**
 * Chains middlewares into one: `compose(a, b)(handler)` is
 * `a(b(handler))`, so `a` sees the request first and the response last.
 *
 * The result is a {@linkcode Middleware} that also takes any app as its
 * `next`: a `DispatcherApp`, a Hono app, or a fetch handler that answers
 * synchronously.
 *
 * @param middlewares The middlewares, outermost first.
 * @returns One middleware; with none, one that passes requests through.
 *
 * @example
 * ```ts
 * import { compose, type Middleware } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const order: string[] = [];
 * const tag = (name: string): Middleware => (next) => (request, info) => {
 *   order.push(name);
 *   return next(request, info);
 * };
 * const fetch = compose(tag("a"), tag("b"))(() => Promise.resolve(new Response("ok")));
 * await fetch(new Request("http://x.test/"));
 * assert.deepEqual(order, ["a", "b"]);
 * ```
 */
export function compose(
  ...middlewares: Middleware[]
): (next: FetchApp | PestoHandlerNeedsToHandler) => DualHandler {
  for (const [i, middleware] of middlewares.entries()) {
    if (typeof middleware !== "function") {
      throw new TypeError(
        `Cannot compose middleware ${i}: expected a function, got ${typeof middleware}`,
      );
    }
  }
  return (next) => {
    const chain = middlewares.reduceRight(
      (inner, m) => m(inner),
      asFetch(next, "compose()"),
    );
    return fetchEntry((raw, info) => chain(raw, info));
  };
}
