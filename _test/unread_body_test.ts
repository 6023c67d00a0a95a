// A request refused before its body is read gets its answer, whatever made
// the body's stream and however the answer is sent. Deno ends such a
// connection with a reset when the response is streamed and the stream of
// the request's body was made but not read; the client, still sending, then
// loses the answer. Pesto hands such a body back to the server.
import assert from "node:assert/strict";
import {
  compose,
  DispatcherApp,
  HttpError,
  type Middleware,
  Response,
} from "@pesto/pesto";
import { fromHono } from "@pesto/pesto/hono";
import { compress } from "hono/compress";

/**
 * What 16 clients posting 80 KB uploads for `ms` get back. They run in a
 * process of their own: the resets are not seen from a client in the
 * server's process.
 */
async function postUploads(
  fetchApp: (
    request: globalThis.Request,
    info: Deno.ServeHandlerInfo,
  ) => globalThis.Response | Promise<globalThis.Response>,
  ms = 1500,
): Promise<{ statuses: Record<number, number>; failures: string[] }> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    fetchApp,
  );
  try {
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        new URL("_post_loop.ts", import.meta.url).pathname,
        `http://127.0.0.1:${server.addr.port}/up`,
        String(ms),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(success, "the clients ran");
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await server.shutdown();
  }
}

/** A middleware that looks at the body without reading it, as many do. */
const peek: Middleware = (next) => (request, info) => {
  if (request.body === null) {
    throw new Error("the upload came without a body");
  }
  return next(request, info);
};

function refusing(status: number): DispatcherApp {
  const app = new DispatcherApp();
  app.match("/up", "POST", () => {
    throw new HttpError(status, "No uploads for now");
  });
  return app;
}

Deno.test("a refused upload behind Hono's compress() gets its answer, not a reset", async () => {
  // compress() streams the answer through a CompressionStream.
  const { statuses, failures } = await postUploads(
    compose(fromHono(compress()))(refusing(403)),
  );
  assert.deepEqual(failures.slice(0, 3), []);
  assert.deepEqual(Object.keys(statuses), ["403"]);
});

Deno.test("an upload accepted unread behind Hono's compress() gets its answer", async () => {
  // fromHono() leaves the body's stream unmade when Hono did not read it.
  const app = new DispatcherApp();
  app.match("/up", "POST", () => new Response("Queued", { status: 202 }));
  const { statuses, failures } = await postUploads(
    compose(fromHono(compress()))(app),
  );
  assert.deepEqual(failures.slice(0, 3), []);
  assert.deepEqual(Object.keys(statuses), ["202"]);
});

Deno.test("a refused upload whose body's stream was made gets a streamed answer", async () => {
  // A middleware that makes the body's stream without reading it, and an
  // answer streamed by the app.
  const app = new DispatcherApp();
  app.match("/up", "POST", () =>
    new Response(
      new Response("Come back later").body!.pipeThrough(new TransformStream()),
      { status: 503, headers: { "Retry-After": "1" } },
    ));
  const { statuses, failures } = await postUploads(compose(peek)(app));
  assert.deepEqual(failures.slice(0, 3), []);
  assert.deepEqual(Object.keys(statuses), ["503"]);
});

Deno.test("an upload redirected unread, behind compress() and a middleware that made its body's stream, gets its answer", async () => {
  const app = new DispatcherApp();
  app.match("/up", "POST", () => Response.redirect("/elsewhere", 303));
  const { statuses, failures } = await postUploads(
    compose(peek, fromHono(compress()))(app),
  );
  assert.deepEqual(failures.slice(0, 3), []);
  assert.deepEqual(Object.keys(statuses), ["303"]);
});

Deno.test("an answer that streams the request's body back is left whole", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    compose(fromHono(compress()))({
      fetch: (request: globalThis.Request) =>
        new globalThis.Response(request.body, {
          status: request.headers.get("x-status") === "400" ? 400 : 200,
          headers: { "content-type": "application/octet-stream" },
        }),
    }),
  );
  try {
    const sent = new Uint8Array(200_000).map((_, i) => i % 251);
    const r = await fetch(`http://127.0.0.1:${server.addr.port}/echo`, {
      method: "POST",
      body: sent,
    });
    assert.equal(r.status, 200);
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), sent);
  } finally {
    await server.shutdown();
  }
});
