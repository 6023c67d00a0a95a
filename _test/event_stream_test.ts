// Server-sent events: Response.eventStream() and request.lastEventId.
import assert from "node:assert/strict";
import {
  DispatcherApp,
  Request,
  Response,
  type ServerSentEvent,
} from "@pesto/pesto";

const decoder = new TextDecoder();
// The real timers, for the helpers: tests may replace the global ones.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/**
 * Counts the timers started and not yet fired or cleared while `fn` runs
 * (Deno's test sanitizers do not look at timers).
 */
async function trackingTimers(
  fn: (live: Set<unknown>) => Promise<void>,
): Promise<void> {
  const live = new Set<unknown>();
  globalThis.setTimeout = ((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const id = realSetTimeout(() => {
      live.delete(id);
      callback(...args);
    }, ms);
    live.add(id);
    return id;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((id: Parameters<typeof clearTimeout>[0]) => {
    live.delete(id);
    realClearTimeout(id);
  }) as typeof clearTimeout;
  try {
    await fn(live);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  }
}

/** `promise`, or a failure after `ms` (so a broken stream fails, not hangs). */
async function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = realSetTimeout(
          () => reject(new Error(`Nothing after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    realClearTimeout(timer);
  }
}

/** The whole body as text, failing on a stream that does not end. */
async function bodyText(response: globalThis.Response): Promise<string> {
  let text = "";
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await within(reader.read());
    if (done) return text;
    text += decoder.decode(value);
    if (text.length > 10_000) {
      await reader.cancel();
      throw new Error(`The stream does not end: ${text.slice(0, 100)}`);
    }
  }
}

/** Replaces console.error while `fn` runs; gives what was logged. */
async function quietly(fn: () => Promise<void>): Promise<unknown[][]> {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return logged;
}

/** An async iterator that records whether return() was called. */
function watched(items: (ServerSentEvent | string)[]) {
  const state = { returned: 0 };
  const iterator: AsyncIterableIterator<ServerSentEvent | string> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      const value = items.shift();
      return Promise.resolve(
        value === undefined
          ? { done: true, value: undefined }
          : { done: false, value },
      );
    },
    return() {
      state.returned++;
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return { iterator, state };
}

Deno.test("Response.eventStream() encodes events", async (t) => {
  const cases: [string, (ServerSentEvent | string)[], string][] = [
    ["a string is data", ["hi"], "data: hi\n\n"],
    ["an empty string is empty data", [""], "data: \n\n"],
    ["string data", [{ data: "hi" }], "data: hi\n\n"],
    [
      "other data is JSON",
      [{ data: { a: [1, "b"] } }],
      'data: {"a":[1,"b"]}\n\n',
    ],
    ["numbers, null and booleans are JSON", [{ data: 3 }, { data: null }, {
      data: false,
    }], "data: 3\n\ndata: null\n\ndata: false\n\n"],
    ["LF splits data lines", ["a\nb"], "data: a\ndata: b\n\n"],
    [
      "CRLF and CR split data lines",
      [{ data: "a\r\nb\rc\n" }],
      "data: a\ndata: b\ndata: c\ndata: \n\n",
    ],
    [
      "a JSON string's newline stays escaped",
      [{ data: ["a\nb"] }],
      'data: ["a\\nb"]\n\n',
    ],
    ["leading spaces are kept", ["  x"], "data:   x\n\n"],
    ["every field, in order", [{
      data: "d",
      event: "note",
      id: "7",
      retry: 3000,
    }], "event: note\nid: 7\nretry: 3000\ndata: d\n\n"],
    ["a numeric id", [{ data: 1, id: 42 }], "id: 42\ndata: 1\n\n"],
    [
      "no data: only the other fields",
      [{ data: undefined, retry: 0 }],
      "retry: 0\n\n",
    ],
    [
      "an empty id resets the last id",
      [{ data: "x", id: "" }],
      "id: \ndata: x\n\n",
    ],
    [
      "unicode",
      [{ data: "é ✓ 😀", event: "ünï" }],
      "event: ünï\ndata: é ✓ 😀\n\n",
    ],
  ];
  for (const [name, events, text] of cases) {
    await t.step(name, async () => {
      assert.equal(await bodyText(Response.eventStream(events)), text);
    });
  }
});

Deno.test("Response.eventStream() refuses what cannot be sent, and stops the source", async (t) => {
  const cases: [string, unknown][] = [
    ["LF in event", { data: "x", event: "a\nevent: b" }],
    ["CR in event", { data: "x", event: "a\rb" }],
    ["LF in id", { data: "x", id: "1\ndata: injected" }],
    ["CR in id", { data: "x", id: "1\r" }],
    ["NUL in id", { data: "x", id: "1\0" }],
    ["a negative retry", { data: "x", retry: -1 }],
    ["a fractional retry", { data: "x", retry: 1.5 }],
    ["a retry that is no number", { data: "x", retry: "5" }],
    ["data JSON cannot write", { data: () => 1 }],
    ["data JSON throws on", { data: 1n }],
    ["an empty event", {}],
    ["null", null],
    ["a number", 5],
  ];
  for (const [name, bad] of cases) {
    await t.step(name, async () => {
      const { iterator, state } = watched([
        "before",
        bad as ServerSentEvent,
        "after",
      ]);
      const reader = Response.eventStream(iterator).body!.getReader();
      assert.equal(
        decoder.decode((await reader.read()).value),
        "data: before\n\n",
      );
      await assert.rejects(() => reader.read(), TypeError);
      assert.equal(state.returned, 1);
    });
  }
  await t.step("nothing of a refused event is sent", async () => {
    const body = Response.eventStream([{ data: "x", id: "1\nevent: evil" }])
      .body!;
    const chunks: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of body) chunks.push(decoder.decode(chunk));
    }, /CR, LF or NUL/);
    assert.deepEqual(chunks, []);
  });
});

Deno.test("Response.eventStream() sets the event-stream headers", async (t) => {
  await t.step("Content-Type and Cache-Control", async () => {
    const r = Response.eventStream([]);
    assert.equal(r.status, 200);
    assert.equal(r.getHeader("content-type"), "text/event-stream");
    assert.equal(r.getHeader("cache-control"), "no-cache");
    assert.equal(await bodyText(r), "");
  });
  await t.step("more headers and a status", () => {
    const r = Response.eventStream([], {
      status: 201,
      headers: {
        "X-Accel-Buffering": "no",
        "Cache-Control": "no-store",
        "Content-Type": "text/plain",
      },
    });
    assert.equal(r.status, 201);
    assert.equal(r.getHeader("x-accel-buffering"), "no");
    assert.equal(r.getHeader("cache-control"), "no-store");
    assert.equal(r.getHeader("content-type"), "text/event-stream");
  });
  await t.step("modifiers keep the stream", async () => {
    const r = Response.eventStream(["a"]).addHeader("X-A", "1");
    assert.equal(r.getHeader("content-type"), "text/event-stream");
    assert.equal(await bodyText(r), "data: a\n\n");
  });
});

Deno.test("Response.eventStream() takes generators, iterables and streams", async (t) => {
  await t.step("an async generator", async () => {
    async function* gen() {
      yield "a";
      await Promise.resolve();
      yield { data: 2 };
    }
    assert.equal(
      await bodyText(Response.eventStream(gen())),
      "data: a\n\ndata: 2\n\n",
    );
  });
  await t.step("a generator", async () => {
    function* gen() {
      yield "a";
      yield "b";
    }
    assert.equal(
      await bodyText(Response.eventStream(gen())),
      "data: a\n\ndata: b\n\n",
    );
  });
  await t.step("a ReadableStream, cancelled when the body is", async () => {
    let cancelled = false;
    const source = new ReadableStream<string>({
      start(controller) {
        controller.enqueue("a");
      },
      cancel() {
        cancelled = true;
      },
    });
    const reader = Response.eventStream(source).body!.getReader();
    assert.equal(decoder.decode((await reader.read()).value), "data: a\n\n");
    await reader.cancel();
    assert.ok(cancelled);
  });
  await t.step("anything else is refused at once", () => {
    for (const bad of ["text", 5, null, undefined, {}, Promise.resolve([])]) {
      assert.throws(
        () => Response.eventStream(bad as unknown as string[]),
        { name: "TypeError", message: /must be an iterable/ },
      );
    }
  });
  await t.step("a bad keepAlive is refused at once", () => {
    for (const keepAlive of [-1, NaN, Infinity, "5" as unknown as number]) {
      assert.throws(
        () => Response.eventStream([], { keepAlive }),
        { name: "TypeError", message: /keepAlive/ },
      );
    }
  });
});

Deno.test("Response.eventStream() pulls events only as the client reads", async () => {
  let made = 0;
  function* gen() {
    for (;;) yield String(++made);
  }
  const reader = Response.eventStream(gen()).body!.getReader();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(made, 0);
  await reader.read();
  await reader.read();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(made, 2);
  await reader.cancel();
});

Deno.test("Response.eventStream() ends the stream with the error of a source that throws", async () => {
  async function* gen() {
    yield "a";
    throw new RangeError("database gone");
  }
  const reader = Response.eventStream(gen()).body!.getReader();
  await reader.read();
  await assert.rejects(() => reader.read(), RangeError);

  // A source that threw is not asked to stop.
  let returned = 0;
  const failing: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.reject(new RangeError("gone")),
      return: () => {
        returned++;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  await assert.rejects(
    () => bodyText(Response.eventStream(failing)),
    RangeError,
  );
  assert.equal(returned, 0);
});

Deno.test("Response.eventStream() logs a source that fails to stop", async () => {
  const source: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve({ done: false, value: "x" }),
      return: () => Promise.reject(new Error("cannot stop")),
    }),
  };
  const reader = Response.eventStream(source).body!.getReader();
  await reader.read();
  const logged = await quietly(() => reader.cancel());
  assert.equal(logged.length, 1);
  assert.match(String(logged[0][0]), /stopping an event stream's source/);
  assert.match(String(logged[0][1]), /cannot stop/);
});

Deno.test("Response.eventStream() sends keep-alive comments while the source is idle", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let asked = 0;
  const source: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        asked++;
        if (asked === 1) {
          await released;
          return { done: false, value: "late" };
        }
        return { done: true, value: undefined };
      },
    }),
  };
  const reader = Response.eventStream(source, { keepAlive: 20 }).body!
    .getReader();
  const read = async () => decoder.decode((await within(reader.read())).value);
  assert.equal(await read(), ": keep-alive\n\n");
  assert.equal(await read(), ": keep-alive\n\n");
  release();
  // The event a tick interrupted is not lost, and next() was asked once.
  let text = await read();
  while (text === ": keep-alive\n\n") text = await read();
  assert.equal(text, "data: late\n\n");
  assert.equal(asked, 1);
  assert.equal((await reader.read()).done, true);
});

Deno.test("Response.eventStream() stops the source when the body is cancelled", async (t) => {
  await t.step("a generator runs its finally block", async () => {
    await trackingTimers(async (live) => {
      let stopped = false;
      async function* gen() {
        try {
          for (;;) yield "x";
        } finally {
          stopped = true;
        }
      }
      const reader = Response.eventStream(gen(), { keepAlive: 1000 }).body!
        .getReader();
      await reader.read();
      await reader.cancel();
      assert.ok(stopped);
      assert.equal(live.size, 0);
    });
  });
  await t.step("an iterator waiting for its next event", async () => {
    await trackingTimers(async (live) => {
      let returned = 0;
      const source: AsyncIterable<string> = {
        [Symbol.asyncIterator]: () => ({
          next: () => new Promise(() => {}), // never
          return: () => {
            returned++;
            return Promise.resolve({ done: true, value: undefined });
          },
        }),
      };
      const reader = Response.eventStream(source, { keepAlive: 1000 }).body!
        .getReader();
      const pending = reader.read();
      await new Promise((resolve) => realSetTimeout(resolve, 10));
      assert.equal(live.size, 1); // the keep-alive timer
      await reader.cancel();
      assert.equal(returned, 1);
      assert.equal((await pending).done, true);
      assert.equal(live.size, 0);
    });
  });
  await t.step("a HEAD request, which gets no body", async () => {
    const { iterator, state } = watched(["a"]);
    const app = new DispatcherApp();
    app.match("/events", "GET", () => Response.eventStream(iterator));
    const r = await app.fetch(
      new globalThis.Request("http://x.test/events", { method: "HEAD" }),
    );
    assert.equal(
      r.headers.get("content-type"),
      "text/event-stream",
    );
    assert.equal(r.body, null);
    assert.equal(state.returned, 1);
  });
});

/** Reads from `conn` until `text` holds `until`. */
async function readUntil(
  conn: Deno.Conn,
  until: RegExp,
  text = "",
): Promise<string> {
  const buffer = new Uint8Array(4096);
  while (!until.test(text)) {
    const n = await within(conn.read(buffer));
    if (n === null) throw new Error(`Connection closed after: ${text}`);
    text += decoder.decode(buffer.subarray(0, n));
    if (text.length > 100_000) throw new Error(`No ${until} in: ${text}`);
  }
  return text;
}

Deno.test("Response.eventStream() over a socket: a client that goes away stops the producer", (t) =>
  trackingTimers(async (live) => {
    const stops: { kind: string; at: number }[] = [];
    const app = new DispatcherApp();
    // A producer that yields on a timer (an async generator), from the id the
    // client last saw.
    app.match("/ticks", "GET", (request) => {
      let n = Number(request.lastEventId ?? 0);
      async function* ticks() {
        try {
          for (;;) {
            yield { id: ++n, data: { n } };
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        } finally {
          stops.push({ kind: "ticks", at: performance.now() });
        }
      }
      return Response.eventStream(ticks(), { keepAlive: 30 });
    });
    // A producer that waits for news that never comes (a subscription).
    app.match("/news", "GET", () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const source: AsyncIterable<string> = {
        [Symbol.asyncIterator]: () => ({
          next: () =>
            new Promise((resolve) => {
              // Some resource the subscription holds.
              timer = setTimeout(
                () => resolve({ done: false, value: "news" }),
                60_000,
              );
            }),
          return: () => {
            clearTimeout(timer);
            stops.push({ kind: "news", at: performance.now() });
            return Promise.resolve({ done: true, value: undefined });
          },
        }),
      };
      return Response.eventStream(source, { keepAlive: 40 });
    });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      app.fetch,
    );
    const { port } = server.addr;
    const open = async (path: string, headers = "") => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(
        new TextEncoder().encode(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${headers}\r\n`,
        ),
      );
      return conn;
    };
    try {
      await t.step(
        "events and keep-alives arrive, from Last-Event-ID",
        async () => {
          const conn = await open("/ticks", "Last-Event-ID: 7\r\n");
          try {
            const text = await readUntil(conn, /id: 9\n/);
            assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
            assert.match(text, /\r\ncontent-type: text\/event-stream\r\n/i);
            assert.match(text, /\r\ncache-control: no-cache\r\n/i);
            assert.match(text, /id: 8\ndata: \{"n":8\}\n\n/);
            assert.match(text, /: keep-alive\n\n/);
          } finally {
            conn.close();
          }
          const closedAt = performance.now();
          while (!stops.some((s) => s.kind === "ticks")) {
            assert.ok(
              performance.now() - closedAt < 1000,
              "producer still runs",
            );
            await new Promise((resolve) => realSetTimeout(resolve, 10));
          }
          assert.equal(live.size, 0, "a timer is left");
        },
      );
      await t.step("a waiting producer is stopped at once", async () => {
        const conn = await open("/news");
        try {
          await readUntil(conn, /: keep-alive\n\n/);
        } finally {
          conn.close();
        }
        const closedAt = performance.now();
        while (!stops.some((s) => s.kind === "news")) {
          assert.ok(performance.now() - closedAt < 1000, "producer still runs");
          await new Promise((resolve) => realSetTimeout(resolve, 10));
        }
        assert.equal(live.size, 0, "a timer is left");
      });
    } finally {
      await server.shutdown();
    }
  }));

Deno.test("Request.lastEventId is the Last-Event-ID header", () => {
  const make = (headers: HeadersInit) =>
    new Request(new globalThis.Request("http://x.test/", { headers }));
  assert.equal(make({}).lastEventId, undefined);
  assert.equal(make({ "Last-Event-ID": "42" }).lastEventId, "42");
  assert.equal(make({ "last-event-id": "a b" }).lastEventId, "a b");
  assert.equal(make({ "last-event-id": "" }).lastEventId, "");
});
