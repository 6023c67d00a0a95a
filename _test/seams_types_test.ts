// Type-level checks of the seams: a function the library made fits both
// kinds of place; a user's function of the wrong kind is a type error whose
// first line names the fix (`PestoHandlerNeedsToHandler`,
// `FetchHandlerNeedsFromFetch`). `deno check` runs them (an expected error
// that does not come fails the check).
import {
  compose,
  DispatcherApp,
  type FetchHandler,
  type Handler,
  mount,
  overlay,
  type Request,
  Response,
  serve,
  serveStatic,
  sessionMiddleware,
  toHandler,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import assert from "node:assert/strict";

const pestoHandler = (request: Request) => new Response(request.pathInfo);
const fetchHandler = (request: globalThis.Request) =>
  Promise.resolve(new Response(request.url));

// Never called: what matters is that it type-checks as written.
function mistakes(): void {
  // @ts-expect-error A Pesto handler where a fetch handler goes.
  mount({ "/m": pestoHandler });
  // @ts-expect-error A Pesto handler where a fetch handler goes.
  overlay(pestoHandler);
  // @ts-expect-error A Pesto handler where a fetch handler goes.
  compose()(pestoHandler);
  // @ts-expect-error A Pesto handler where a fetch handler goes.
  sessionMiddleware()(pestoHandler);
  // @ts-expect-error A fetch handler where a handler goes.
  toHandler(fetchHandler);
  // @ts-expect-error A fetch handler where a handler goes.
  new DispatcherApp().match("/", "GET", fetchHandler);
  // @ts-expect-error A fetch handler where a handler goes.
  new TestApp(fetchHandler);
  // @ts-expect-error A fetch handler where a handler goes.
  serve(fetchHandler);
}

Deno.test("library-made functions type as both a Handler and a FetchHandler", () => {
  const app = new DispatcherApp();
  const made: (Handler & FetchHandler)[] = [
    toHandler(pestoHandler),
    app.fetch,
    compose()(app),
    mount({ "/": app }),
    overlay(app),
    sessionMiddleware()(app.fetch),
    serveStatic("."),
  ];
  // Each goes where either kind goes, spelled as a user would.
  for (const f of made) {
    mount({ "/x": f });
    new DispatcherApp().match("/x", "GET", f);
    toHandler(f);
  }
  assert.equal(made.length, 7);
  assert.equal(typeof mistakes, "function");
});
