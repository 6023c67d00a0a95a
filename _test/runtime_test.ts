// The fence around the runtime's internals (`_runtime/`): each fast path is
// on with the pinned Deno, a request the fast paths cannot use never turns
// them off, and `TestApp` releases bodies as a served request does. When a
// Deno upgrade changes what a fast path reads, these fail and name it.
import assert from "node:assert/strict";
import { DispatcherApp, type Request, Response } from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { asyncContextFastPath } from "../_runtime/async_context.ts";
import { release } from "../_runtime/release.ts";

const ROOT = new URL("..", import.meta.url);

const INTERNALS = {
  asyncContext:
    "Deno[Deno.internal].core.getAsyncContext/setAsyncContext (currentRequest() falls back to AsyncLocalStorage)",
  servedRequest:
    "the served request's inner record with header() under a private symbol (Host and body headers fall back to request.headers)",
  sentBody:
    'the response\'s inner record and its "serve fast consumed" mark under private symbols (sent bodies are no longer released)',
};

/**
 * Runs, in a fresh process (the fast paths learn once per process), an app
 * first given requests the fast paths cannot use, then one served request,
 * and reports which fast paths are on.
 */
async function fastPathsInFreshProcess(): Promise<Record<string, boolean>> {
  const script = `
    import { DispatcherApp, type Request, Response } from "@pesto/pesto";
    import { asyncContextFastPath } from "${ROOT}_runtime/async_context.ts";
    import { servedRequestFastPath } from "${ROOT}_runtime/served_request.ts";
    import { sentBodyFastPath } from "${ROOT}_runtime/sent_body.ts";
    const app = new DispatcherApp();
    app.match("/", "GET", () => new Response(new Uint8Array(8192)));
    // What no fast path can use comes first: a Pesto Request and a request
    // made in-process, with and without connection info.
    const made = new globalThis.Request("http://x.test/");
    await (await app.fetch(new Request(made))).arrayBuffer();
    await (await app.fetch(new globalThis.Request("http://x.test/"))).arrayBuffer();
    await (await app.fetch(new globalThis.Request("http://x.test/"), {
      remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
      completed: Promise.resolve(),
    })).arrayBuffer();
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
    await (await fetch("http://127.0.0.1:" + server.addr.port + "/")).arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.shutdown();
    console.log(JSON.stringify({
      asyncContext: asyncContextFastPath(),
      servedRequest: servedRequestFastPath(),
      sentBody: sentBodyFastPath(),
    }));
  `;
  const dir = await Deno.makeTempDir({ prefix: "pesto-runtime-" });
  const path = `${dir}/probe.ts`;
  await Deno.writeTextFile(path, script);
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--no-lock",
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(output.success, `the probe failed:\n${stderr}`);
    return JSON.parse(new TextDecoder().decode(output.stdout).trim());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("every runtime fast path is on with this Deno, whatever came first", async (t) => {
  const on = await fastPathsInFreshProcess();
  for (const [name, internal] of Object.entries(INTERNALS)) {
    await t.step(name, () => {
      assert.equal(
        on[name],
        true,
        `The ${name} fast path is off with Deno ${Deno.version.deno}: it reads ${internal}`,
      );
    });
  }
});

Deno.test("asyncContextFastPath() is on in this process", () => {
  assert.ok(asyncContextFastPath(), INTERNALS.asyncContext);
});

Deno.test("release() detaches a buffer with ArrayBuffer#transfer", () => {
  const bytes = new Uint8Array(16);
  release(bytes);
  assert.equal(
    bytes.byteLength,
    0,
    "ArrayBuffer.prototype.transfer no longer detaches: bodies are not released",
  );
  const view = new Uint8Array(new ArrayBuffer(16), 4);
  release(view);
  assert.equal(view.byteLength, 12, "a view into a buffer is never released");
});

Deno.test("TestApp releases a read body once its response is sent, as Deno.serve does", async () => {
  let kept: Request | undefined;
  const app = new DispatcherApp();
  app.match("/echo", "POST", async (request) => {
    kept = request;
    return new Response(String((await request.text()).length));
  });
  const client = new TestApp(app);
  const r = await client.post("/echo", { body: "x".repeat(8192) });
  assert.equal(r.text, "8192");
  await new Promise((resolve) => setTimeout(resolve, 0));
  await assert.rejects(
    () => kept!.text(),
    (error: unknown) =>
      error instanceof TypeError &&
      /Cannot read the body after its response was sent/.test(error.message),
  );

  // A body the test gives as its own stream stays the test's.
  const chunk = new TextEncoder().encode("y".repeat(8192));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(chunk);
      controller.enqueue(chunk.subarray(0, 10));
      controller.close();
    },
  });
  const s = await client.post("/echo", { body: stream });
  assert.equal(s.text, "8202");
  assert.equal(chunk.byteLength, 8192, "the caller's chunk was released");
  assert.equal(await kept!.text(), "y".repeat(8192) + "y".repeat(10));
});
