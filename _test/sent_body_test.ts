// The runtime's copy of a served response's bytes is released once sent,
// and only when the server itself consumed it (_sent_body.ts).
import assert from "node:assert/strict";
import { DispatcherApp, Response, toHandler } from "@pesto/pesto";
import { startServer } from "./_raw_http.ts";

const SIZE = 100_000;

/** Bytes 0, 1, ..., 255, 0, 1, ... */
function pattern(size: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: size }, (_, i) => i % 256);
}

function isPattern(bytes: Uint8Array, size: number): boolean {
  return bytes.byteLength === size && bytes.every((b, i) => b === i % 256);
}

/**
 * The bytes the runtime keeps for a response's body (its inner record,
 * under a private symbol of Deno's `Response`); what the release detaches.
 */
function runtimeCopy(response: globalThis.Response): Uint8Array {
  const key = Object.getOwnPropertySymbols(response).find((symbol) =>
    symbol.description === "response"
  );
  assert.ok(key, "Deno's Response keeps its inner record under a symbol");
  const inner = (response as unknown as Record<symbol, {
    body: { streamOrStatic: { body: Uint8Array } };
  }>)[key];
  return inner.body.streamOrStatic.body;
}

/** The release waits for `completed`, which follows the response's send. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

Deno.test("a served byte body of 4 KiB or more is released once sent, after arriving whole", async (t) => {
  const bytes = pattern(SIZE);
  const sent: globalThis.Response[] = [];
  const app = new DispatcherApp();
  app.match("/pesto", "GET", () => {
    const response = new Response(bytes, {
      contentType: "application/octet-stream",
      headers: { "X-Kind": "pesto" },
    });
    sent.push(response);
    return response;
  });
  app.match("/web", "GET", () => {
    const response = new globalThis.Response(bytes.slice().buffer);
    sent.push(response);
    return response;
  });
  app.match("/small", "GET", () => {
    const response = new Response(bytes.subarray(0, 4095));
    sent.push(response);
    return response;
  });
  const server = startServer(app.fetch);
  const get = async (path: string) =>
    new Uint8Array(
      await (await fetch(`http://127.0.0.1:${server.port}${path}`))
        .arrayBuffer(),
    );
  try {
    await t.step(
      "Pesto responses are released, web ones (which may have been cloned) kept, 20 at once",
      async () => {
        const paths = Array.from(
          { length: 20 },
          (_, i) => i % 2 ? "/web" : "/pesto",
        );
        const bodies = await Promise.all(paths.map(get));
        assert.ok(bodies.every((body) => isPattern(body, SIZE)));
        await settle();
        assert.equal(sent.length, 20);
        for (const response of sent) {
          // A clone of a web response shares the runtime's bytes, and the
          // library cannot see one being made: only Pesto's own are released.
          assert.equal(
            runtimeCopy(response).byteLength,
            response instanceof Response ? 0 : SIZE,
          );
        }
      },
    );
    await t.step("the application's own bytes are not touched", () => {
      assert.ok(isPattern(bytes, SIZE));
    });
    await t.step("a smaller body is left to the collector", async () => {
      sent.length = 0;
      assert.ok(isPattern(await get("/small"), 4095));
      await settle();
      assert.equal(runtimeCopy(sent[0]).byteLength, 4095);
    });
  } finally {
    await server.close();
  }
});

Deno.test("bytes that JavaScript read from a served response are never released", async () => {
  const kept: Uint8Array[] = [];
  const app = toHandler(() => new Response(pattern(SIZE)));
  // A middleware that reads the inner response and keeps its bytes (a
  // cache, say): they are the runtime's copy itself.
  const server = startServer(async (request, info) => {
    const inner = await app(request, info);
    const body = await inner.bytes();
    kept.push(body);
    return new globalThis.Response(body.slice());
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.ok(isPattern(new Uint8Array(await response.arrayBuffer()), SIZE));
    await settle();
    assert.equal(kept.length, 1);
    assert.ok(isPattern(kept[0], SIZE), "the kept bytes are whole");
  } finally {
    await server.close();
  }
});

Deno.test("a byte body made in-process is never released", async (t) => {
  const handler = toHandler(() => new Response(pattern(SIZE)));
  await t.step("without an info", async () => {
    const response = await handler(new globalThis.Request("http://x.test/"));
    await settle();
    assert.ok(isPattern(await response.bytes(), SIZE));
  });
  await t.step("with an info made by hand", async () => {
    const info = {
      remoteAddr: { transport: "tcp", hostname: "203.0.113.7", port: 1234 },
    } as Deno.ServeHandlerInfo;
    const response = await handler(
      new globalThis.Request("http://x.test/"),
      info,
    );
    await settle();
    assert.ok(isPattern(await response.bytes(), SIZE));
  });
});
