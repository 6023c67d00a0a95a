// Slow and broken clients over real sockets: a stalled body is answered 408
// at the read deadline, a client that goes away mid-upload leaves no
// temporary file, and stalled clients do not hold up anyone else.
import assert from "node:assert/strict";
import { makeHostileApp } from "./_hostile_app.ts";
import {
  multipartBody,
  type RawPart,
  rawRequest,
  type RawResponse,
  startServer,
} from "./_raw_http.ts";
import { startPortServer } from "./_process.ts";

const B = "slow-boundary";

/** The head and the first `sent` bytes of a multipart upload to /form. */
function halfUpload(sent: number, size = 900): (string | Uint8Array)[] {
  const body = multipartBody(B, [
    { name: "f", filename: "f.bin", content: new Uint8Array(size).fill(97) },
  ]);
  return [
    `POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${body.byteLength}\r\n\r\n`,
    body.subarray(0, sent),
  ];
}

/**
 * An upload to /form sent in two pieces: the head and `sent` bytes at once,
 * the rest when `finish` is called.
 */
function splitUpload(sent: number): {
  parts: RawPart[];
  finish: () => void;
} {
  const [head, body] = halfUpload(Infinity) as [string, Uint8Array];
  const rest = Promise.withResolvers<Uint8Array>();
  return {
    parts: [head, body.subarray(0, sent), rest.promise],
    finish: () => rest.resolve(body.subarray(sent)),
  };
}

const GET =
  "GET /items/1 HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n";

/** Upload files in `dir`, after waiting (bounded) for the count to be `n`. */
async function uploadsIn(dir: string, n: number): Promise<string[]> {
  let names: string[] = [];
  for (let i = 0; i < 200; i++) {
    names = [...Deno.readDirSync(dir)]
      .filter((e) => e.name.startsWith("pesto-upload-"))
      .map((e) => e.name);
    if (names.length === n) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return names;
}

/**
 * The hostile app on a real server that counts the POSTs reaching it;
 * `reading(n)` waits (bounded) until `n` of them have.
 */
async function countingServer(bodyTimeout: number) {
  const fixture = await makeHostileApp({ bodyTimeout });
  let entered = 0;
  const server = startServer((request, info) => {
    if (request.method === "POST") entered++;
    return fixture.fetch(request, info);
  });
  const reading = async (n: number) => {
    for (let i = 0; i < 400 && entered < n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(entered, n);
  };
  const close = async () => {
    await server.close();
    await fixture.cleanup();
  };
  return { port: server.port, reading, close };
}

Deno.test("Request bodies: a stalled client gets a 408 at bodyTimeout and a disconnected one leaves no temporary file", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "pesto-slow-" });
  const server = await startPortServer(
    new URL("./_hostile_server.ts", import.meta.url).pathname,
    { flags: ["--allow-all"], env: { TMPDIR: tmp, BODY_TIMEOUT: "800" } },
  );
  const port = server.port;
  try {
    await t.step(
      "half a body, then silence: 408 and the file is removed",
      async () => {
        const pending = rawRequest(port, halfUpload(500), { timeout: 5000 });
        // Past maxFileMemorySize: the part is spooled while the client stalls.
        assert.equal((await uploadsIn(tmp, 1)).length, 1);
        const response = await pending;
        assert.equal(response.status, 408);
        assert.equal(response.body, "Body not received in time\n");
        assert.deepEqual(await uploadsIn(tmp, 0), []);
      },
    );
    await t.step(
      "a client that goes away mid-upload leaves no file",
      async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        try {
          const [head, body] = halfUpload(500);
          await conn.write(new TextEncoder().encode(head as string));
          await conn.write(body as Uint8Array);
          // The part is past maxFileMemorySize: it is being spooled.
          assert.equal((await uploadsIn(tmp, 1)).length, 1);
        } finally {
          conn.close();
        }
        assert.deepEqual(await uploadsIn(tmp, 0), []);
      },
    );
    await t.step("a whole upload still works afterwards", async () => {
      const [head, body] = halfUpload(Infinity);
      const response = await rawRequest(port, [head, body]);
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body).f[0].size, 900);
      assert.deepEqual(await uploadsIn(tmp, 0), []);
    });
  } finally {
    await server.stop();
    const left = [...Deno.readDirSync(tmp)].filter((e) =>
      e.name.startsWith("pesto-upload-")
    );
    await Deno.remove(tmp, { recursive: true });
    assert.deepEqual(left, []);
  }
});

Deno.test("Deno.serve with a Pesto app: 50 stalled clients do not hold up a normal request", async () => {
  const server = await countingServer(2000);
  try {
    let answered = 0;
    const stalled = Array.from(
      { length: 50 },
      () =>
        rawRequest(server.port, halfUpload(300), { timeout: 10_000 }).then(
          (r) => {
            answered++;
            return r.status;
          },
        ),
    );
    // Every stalled request has reached the app.
    await server.reading(50);
    const response = await rawRequest(server.port, GET, { timeout: 1000 });
    assert.equal(response.status, 200);
    assert.equal(response.body, "item 1");
    // Liveness only: answered within a second, before any stalled deadline.
    assert.equal(answered, 0);
    assert.deepEqual(await Promise.all(stalled), Array(50).fill(408));
  } finally {
    await server.close();
  }
});

Deno.test("Request bodies: every stalled body gets its 408, whatever order the others finish in", async () => {
  const server = await countingServer(1500);
  const { reading } = server;
  try {
    // The first body being read stalls for good.
    const stalled = rawRequest(server.port, halfUpload(300), {
      timeout: 10_000,
    });
    await reading(1);
    // Three more start after it; the middle one finishes first, then the
    // oldest, then the newest, each while the others are still being read.
    const uploads: {
      finish: () => void;
      response: Promise<RawResponse>;
    }[] = [];
    for (let i = 0; i < 3; i++) {
      const upload = splitUpload(300);
      uploads.push({
        ...upload,
        response: rawRequest(server.port, upload.parts, { timeout: 10_000 }),
      });
      await reading(i + 2);
    }
    for (const i of [1, 0, 2]) {
      uploads[i].finish();
      const response = await uploads[i].response;
      assert.equal(response.status, 200);
      assert.equal(JSON.parse(response.body).f[0].size, 900);
    }
    const response = await stalled;
    assert.equal(response.status, 408);
    assert.equal(response.body, "Body not received in time\n");
  } finally {
    await server.close();
  }
});

Deno.test("Request bodies: a stalled form read whole gets its 408 after another's has expired", async () => {
  const server = await countingServer(600);
  const { reading } = server;
  // A declared length within the limits: the body is read whole, natively.
  const halfForm =
    "POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\n\r\na=1";
  try {
    const first = rawRequest(server.port, halfForm, { timeout: 5000 });
    await reading(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = rawRequest(server.port, halfForm, { timeout: 5000 });
    await reading(2);
    // The first expires (and its read fails afterwards) while the second
    // is still being read: the second must still be watched.
    assert.equal((await first).status, 408);
    const response = await second;
    assert.equal(response.status, 408);
    assert.equal(response.body, "Body not received in time\n");
  } finally {
    await server.close();
  }
});
