// The `errorPage` option of DispatcherApp and toHandler: every error
// response the library makes for the app, and the HttpErrors handlers throw,
// rendered by the app; the generic page when the renderer gives none or
// fails.
import assert from "node:assert/strict";
import {
  DispatcherApp,
  type ErrorPage,
  HttpError,
  HttpRedirect,
  Response,
  toHandler,
} from "@pesto/pesto";

const page: ErrorPage = (error, request) =>
  new Response(
    `<main><h1>${error.status}</h1><p>${error.message}</p>` +
      `<a href="/">back</a> ${request.method}</main>`,
    { status: error.status },
  );

function app(): DispatcherApp {
  const app = new DispatcherApp({
    errorPage: page,
    limits: { maxBodySize: 10, bodyTimeout: 100 },
    onError: () => {},
  });
  app.match("/item", ["GET", "PUT"], () => new Response("item"));
  app.match("/teapot", "GET", () => {
    throw new HttpError(418, "Short and stout");
  });
  app.match("/boom", "GET", () => {
    throw new Error("secret detail");
  });
  app.match("/moved", "GET", () => {
    throw new HttpRedirect("/elsewhere");
  });
  app.match(
    "/echo",
    "POST",
    async (request) => new Response(await request.text()),
  );
  return app;
}

async function answer(
  response: globalThis.Response,
): Promise<{ status: number; text: string; headers: Headers }> {
  return {
    status: response.status,
    text: await response.text(),
    headers: response.headers,
  };
}

Deno.test("DispatcherApp({ errorPage }) renders the errors the app makes", async (t) => {
  const fetch = app().fetch;
  const get = (path: string, init?: RequestInit) =>
    fetch(new Request(`http://x.test${path}`, init)).then(answer);

  await t.step("404", async () => {
    const r = await get("/nowhere");
    assert.equal(r.status, 404);
    assert.equal(
      r.text,
      '<main><h1>404</h1><p>Not found</p><a href="/">back</a> GET</main>',
    );
  });
  await t.step("405 keeps its Allow", async () => {
    const r = await get("/item", { method: "DELETE" });
    assert.equal(r.status, 405);
    assert.match(r.text, /<h1>405<\/h1>/);
    assert.equal(r.headers.get("allow"), "GET, HEAD, PUT");
  });
  await t.step("OPTIONS is still answered 204 with Allow", async () => {
    const r = await get("/item", { method: "OPTIONS" });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("allow"), "GET, HEAD, PUT");
  });
  await t.step("400 for a malformed Host", async () => {
    const r = await get("/item", { headers: { host: "bad host" } });
    assert.equal(r.status, 400);
    assert.match(r.text, /<h1>400<\/h1><p>Malformed Host header<\/p>/);
  });
  await t.step("413 for a body over a limit", async () => {
    const r = await get("/echo", { method: "POST", body: "x".repeat(11) });
    assert.equal(r.status, 413);
    assert.match(r.text, /<h1>413<\/h1><p>Body over the limit of 10 bytes/);
  });
  await t.step("411 for a malformed Content-Length", async () => {
    const r = await get("/echo", {
      method: "POST",
      body: "x",
      headers: { "content-length": "abc" },
    });
    assert.equal(r.status, 411);
    assert.match(r.text, /<h1>411<\/h1><p>Malformed Content-Length<\/p>/);
  });
  await t.step("408 for a body that stalls", async () => {
    const stalled = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}),
    });
    // The body deadline never keeps a process alive (a server would): hold
    // the event loop open meanwhile.
    const alive = setTimeout(() => {}, 5_000);
    const r = await get("/echo", { method: "POST", body: stalled });
    clearTimeout(alive);
    assert.equal(r.status, 408);
    assert.match(r.text, /<h1>408<\/h1>/);
  });
  await t.step("500, with no detail of the error", async () => {
    const r = await get("/boom");
    assert.equal(r.status, 500);
    assert.match(r.text, /<h1>500<\/h1><p>Internal Server Error<\/p>/);
    assert.doesNotMatch(r.text, /secret/);
  });
  await t.step("an HttpError a handler throws", async () => {
    const r = await get("/teapot");
    assert.equal(r.status, 418);
    assert.match(r.text, /<p>Short and stout<\/p>/);
  });
  await t.step("a redirect is not rendered", async () => {
    const r = await get("/moved");
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "http://x.test/elsewhere");
    assert.doesNotMatch(r.text, /<main>/);
  });
  await t.step("a route's answer is left alone", async () => {
    assert.equal((await get("/item")).text, "item");
  });
});

Deno.test("errorPage falls back to the generic page", async (t) => {
  const errors: unknown[] = [];
  const error = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await t.step("when it returns undefined", async () => {
      const fetch = new DispatcherApp({ errorPage: () => undefined }).fetch;
      const r = await answer(await fetch(new Request("http://x.test/none")));
      assert.equal(r.status, 404);
      assert.equal(r.text, await Response.notFound().text());
    });
    await t.step("when it throws (and the error is logged)", async () => {
      errors.length = 0;
      const fetch = new DispatcherApp({
        errorPage: () => {
          throw new Error("the template is broken");
        },
      }).fetch;
      const r = await answer(await fetch(new Request("http://x.test/none")));
      assert.equal(r.status, 404);
      assert.equal(r.text, await Response.notFound().text());
      assert.equal(errors.length, 1);
      assert.match(
        String((errors[0] as unknown[])[1]),
        /the template is broken/,
      );
    });
    await t.step(
      "quietly when it fails on what a malformed request lacks",
      async () => {
        errors.length = 0;
        const fetch = new DispatcherApp({
          errorPage: (_error, request) => new Response(request.url.href),
        }).fetch;
        const r = await answer(
          await fetch(
            new Request("http://x.test/", { headers: { host: "a b" } }),
          ),
        );
        assert.equal(r.status, 400);
        assert.equal(r.text, "Malformed Host header\n");
        assert.equal(errors.length, 0);
      },
    );
    await t.step("when its promise rejects", async () => {
      const fetch = toHandler(() => {
        throw new HttpError(403, "No");
      }, { errorPage: () => Promise.reject(new Error("down")) });
      const r = await answer(await fetch(new Request("http://x.test/")));
      assert.equal(r.status, 403);
      assert.equal(r.text, "No\n");
    });
    await t.step("when it returns something else than a Response", async () => {
      const fetch = toHandler(() => {
        throw new HttpError(403, "No");
      }, { errorPage: () => "oops" as unknown as Response });
      const r = await answer(await fetch(new Request("http://x.test/")));
      assert.equal(r.status, 403);
      assert.equal(r.text, "No\n");
    });
  } finally {
    console.error = error;
  }
});

Deno.test("toHandler(h, { errorPage }) renders errors, async pages too, with the error's status", async (t) => {
  const fetch = toHandler((request) => {
    if (request.pathInfo === "/big") {
      return request.text().then((t) => new Response(t));
    }
    throw new HttpError(409, "Conflict here", {
      headers: { "Retry-After": "5" },
    });
  }, {
    limits: { maxBodySize: 4 },
    // A page that forgets its status gets the error's.
    errorPage: async (error) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return new globalThis.Response(`page: ${error.message}`);
    },
  });
  await t.step("a thrown HttpError keeps its status and headers", async () => {
    const r = await answer(await fetch(new Request("http://x.test/")));
    assert.equal(r.status, 409);
    assert.equal(r.text, "page: Conflict here");
    assert.equal(r.headers.get("retry-after"), "5");
  });
  await t.step("413", async () => {
    const r = await answer(
      await fetch(
        new Request("http://x.test/big", { method: "POST", body: "12345" }),
      ),
    );
    assert.equal(r.status, 413);
    assert.match(r.text, /^page: Body over the limit of 4 bytes/);
  });
  await t.step("400 for a malformed Host", async () => {
    const r = await answer(
      await fetch(
        new Request("http://x.test/", { headers: { host: "x/admin" } }),
      ),
    );
    assert.equal(r.status, 400);
    assert.equal(r.text, "page: Malformed Host header");
  });
});
