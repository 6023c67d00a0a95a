// WebSockets: upgradeWebSocket() against a served DispatcherApp, with real
// WebSocket clients.
import assert from "node:assert/strict";
import { DispatcherApp, HttpError, mount, Response } from "@pesto/pesto";
import {
  UpgradeRequired,
  upgradeWebSocket,
  type WebSocketHandlers,
} from "@pesto/pesto/websocket";

/** `promise`, or a failure after `ms` (a broken socket fails, not hangs). */
async function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Nothing after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const inboxes = new WeakMap<WebSocket, {
  events: MessageEvent[];
  waiting: ((event: MessageEvent) => void)[];
}>();

/**
 * A client socket once open (rejects when it cannot connect); what it
 * receives is kept from the start, for {@linkcode message}.
 */
function connect(url: string, protocols?: string[]): Promise<WebSocket> {
  const socket = new WebSocket(url, protocols);
  socket.binaryType = "arraybuffer";
  const inbox = {
    events: [] as MessageEvent[],
    waiting: [] as ((event: MessageEvent) => void)[],
  };
  inboxes.set(socket, inbox);
  socket.addEventListener("message", (event) => {
    const waiter = inbox.waiting.shift();
    if (waiter) waiter(event);
    else inbox.events.push(event);
  });
  return within(
    new Promise((resolve, reject) => {
      socket.onopen = () => resolve(socket);
      socket.onerror = (event) =>
        reject(new Error((event as ErrorEvent).message ?? "error"));
    }),
  );
}

/** The next message a socket received. */
function message(socket: WebSocket): Promise<MessageEvent> {
  const inbox = inboxes.get(socket)!;
  const event = inbox.events.shift();
  if (event) return Promise.resolve(event);
  return within(new Promise((resolve) => inbox.waiting.push(resolve)));
}

/** The close event of a socket. */
function closed(socket: WebSocket): Promise<CloseEvent> {
  return within(
    new Promise((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) {
        throw new Error("closed already: listen earlier");
      }
      socket.addEventListener("close", resolve, { once: true });
    }),
  );
}

/** A test server: what the server side saw, and the app. */
function serveApp() {
  const seen = {
    opened: 0,
    messages: [] as unknown[],
    closes: [] as { code: number; reason: string; path: string }[],
    errors: 0,
  };
  const closeWaiters: (() => void)[] = [];
  const app = new DispatcherApp({
    errorPage: (error) =>
      new Response(`<p>${error.status}</p>`, { status: error.status }),
  });
  const track = (path: string): WebSocketHandlers => ({
    onOpen: () => void seen.opened++,
    onClose: (_socket, event) => {
      seen.closes.push({ code: event.code, reason: event.reason, path });
      closeWaiters.splice(0).forEach((wake) => wake());
    },
    onError: () => void seen.errors++,
  });
  // Echo, with the typed parameter in the answer to text frames.
  app.match("/echo/<name:unicode>/<n:int>", "GET", (request, params) => {
    const { name, n } = params;
    return upgradeWebSocket(request, {
      ...track("echo"),
      onMessage: (socket, event) => {
        seen.messages.push(event.data);
        if (typeof event.data === "string") {
          socket.send(`${name}#${n + 1}: ${event.data}`);
        } else socket.send(event.data);
      },
    });
  });
  // The server closes with the code and reason it is sent.
  app.match("/closer", "GET", (request) =>
    upgradeWebSocket(request, {
      ...track("closer"),
      onMessage: (socket, event) => {
        const { code, reason } = JSON.parse(event.data);
        socket.close(code, reason);
      },
    }));
  app.match("/chat", "GET", (request) =>
    upgradeWebSocket(request, {
      ...track("chat"),
      onOpen: (socket) => socket.send(`protocol ${socket.protocol}`),
    }, { protocol: ["chat.v2", "chat.v1"] }));
  app.match(
    "/broken/<how:unicode>",
    "GET",
    (request, { how }) =>
      upgradeWebSocket(request, {
        ...track("broken"),
        onMessage: how === "async"
          ? () => Promise.reject(new Error("async handler failed"))
          : () => {
            throw new Error("handler failed");
          },
      }),
  );
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    mount({ "/ws": app.fetch, "/": app.fetch }),
  );
  const base = `ws://127.0.0.1:${server.addr.port}`;
  /** Waits until the server has seen `count` closes. */
  const serverCloses = async (count: number) => {
    while (seen.closes.length < count) {
      await within(new Promise<void>((wake) => closeWaiters.push(wake)));
    }
  };
  return { seen, server, base, port: server.addr.port, app, serverCloses };
}

Deno.test("upgradeWebSocket() echoes text from a route with typed params", async () => {
  const { seen, server, base, serverCloses } = serveApp();
  try {
    const socket = await connect(`${base}/echo/ada%20l/41`);
    socket.send("hello");
    assert.equal((await message(socket)).data, "ada l#42: hello");
    socket.send("é ✓ 😀");
    assert.equal((await message(socket)).data, "ada l#42: é ✓ 😀");
    const done = closed(socket);
    socket.close();
    assert.equal((await done).code, 1005);
    await serverCloses(1);
    assert.equal(seen.opened, 1);
    assert.deepEqual(seen.messages, ["hello", "é ✓ 😀"]);
    assert.equal(seen.closes[0].code, 1005);
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() serves sockets in a mounted app", async () => {
  const { server, base } = serveApp();
  try {
    const socket = await connect(`${base}/ws/echo/mounted/0`);
    socket.send("hi");
    assert.equal((await message(socket)).data, "mounted#1: hi");
    const done = closed(socket);
    socket.close();
    await done;
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() passes binary frames as they are", async () => {
  const { seen, server, base } = serveApp();
  try {
    const socket = await connect(`${base}/echo/bin/0`);
    const small = new Uint8Array([0, 1, 2, 127, 128, 255]);
    socket.send(small);
    const back = (await message(socket)).data;
    assert.ok(back instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(back), small);
    assert.ok(seen.messages[0] instanceof ArrayBuffer);

    const large = crypto.getRandomValues(new Uint8Array(65536));
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i += large.length) big.set(large, i);
    socket.send(big);
    assert.deepEqual(new Uint8Array((await message(socket)).data), big);

    socket.send(new Uint8Array(0));
    assert.equal((await message(socket)).data.byteLength, 0);
    const done = closed(socket);
    socket.close();
    await done;
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() carries close codes and reasons both ways", async (t) => {
  const { seen, server, base, serverCloses } = serveApp();
  try {
    await t.step("the client closes", async () => {
      const socket = await connect(`${base}/echo/c/0`);
      const done = closed(socket);
      socket.close(4001, "bye now");
      const event = await done;
      assert.equal(event.code, 4001);
      assert.equal(event.reason, "bye now");
      await serverCloses(1);
      assert.deepEqual(seen.closes[0], {
        code: 4001,
        reason: "bye now",
        path: "echo",
      });
    });
    await t.step("the server closes", async () => {
      for (
        const [code, reason] of [[1000, "done"], [4999, "é ✓"], [1001, ""]]
      ) {
        const before = seen.closes.length;
        const socket = await connect(`${base}/closer`);
        const done = closed(socket);
        socket.send(JSON.stringify({ code, reason }));
        const event = await done;
        assert.equal(event.code, code);
        assert.equal(event.reason, reason);
        assert.equal(event.wasClean, true);
        await serverCloses(before + 1);
        assert.equal(seen.closes.at(-1)!.code, code);
      }
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() holds 50 sockets at once", async () => {
  const { seen, server, base, serverCloses } = serveApp();
  try {
    const sockets = await Promise.all(
      Array.from({ length: 50 }, (_, i) => connect(`${base}/echo/s/${i}`)),
    );
    assert.equal(seen.opened, 50);
    const replies = await Promise.all(sockets.map((socket, i) => {
      const reply = message(socket);
      socket.send(`m${i}`);
      return reply;
    }));
    assert.deepEqual(
      replies.map((event) => event.data),
      sockets.map((_, i) => `s#${i + 1}: m${i}`),
    );
    const done = sockets.map(closed);
    sockets.forEach((socket, i) => socket.close(4000 + i, `n${i}`));
    const events = await Promise.all(done);
    assert.deepEqual(
      events.map((e) => e.code),
      sockets.map((_, i) => 4000 + i),
    );
    await serverCloses(50);
    assert.deepEqual(
      seen.closes.map((c) => c.reason).sort(),
      sockets.map((_, i) => `n${i}`).sort(),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() answers 426 to a request that is not an upgrade", async (t) => {
  const { server, port, app } = serveApp();
  try {
    await t.step("over the network, through the app's error page", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/echo/x/1`);
      assert.equal(r.status, 426);
      assert.equal(r.headers.get("upgrade"), "websocket");
      assert.equal(await r.text(), "<p>426</p>");
    });
    await t.step("in process, without an error page", async () => {
      const plain = new DispatcherApp();
      plain.match("/", "GET", (request) => upgradeWebSocket(request, {}));
      for (
        const headers of [
          {} as Record<string, string>,
          { upgrade: "h2c", connection: "Upgrade" },
          { connection: "Upgrade" },
        ]
      ) {
        const r = await plain.fetch(
          new Request("http://x.test/", { headers }),
        );
        assert.equal(r.status, 426);
        assert.equal(r.headers.get("upgrade"), "websocket");
        assert.match(await r.text(), /connect with a WebSocket client/);
      }
      assert.equal(
        (await app.fetch(new Request("http://x.test/echo/x/1"))).status,
        426,
      );
    });
    await t.step("a POST upgrade", async () => {
      const plain = new DispatcherApp();
      plain.match("/", "POST", (request) => upgradeWebSocket(request, {}));
      const r = await plain.fetch(
        new Request("http://x.test/", {
          method: "POST",
          headers: {
            upgrade: "websocket",
            connection: "Upgrade",
            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
            "sec-websocket-version": "13",
          },
        }),
      );
      assert.equal(r.status, 426);
    });
    await t.step("UpgradeRequired is an HttpError", () => {
      const error = new UpgradeRequired();
      assert.ok(error instanceof HttpError);
      assert.equal(error.status, 426);
      assert.equal(error.headers.get("upgrade"), "websocket");
    });
  } finally {
    await server.shutdown();
  }
});

/** Sends a raw handshake; gives the status line, headers and body. */
async function rawHandshake(port: number, headers: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`,
      ),
    );
    let text = "";
    const buffer = new Uint8Array(4096);
    while (!/\r\n\r\n/.test(text)) {
      const n = await within(conn.read(buffer));
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test("upgradeWebSocket() checks the handshake", async (t) => {
  const { server, port } = serveApp();
  const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  try {
    const cases: [string, string, RegExp, RegExp?][] = [
      [
        "another version: 426 naming 13",
        `${upgrade}${key}Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: chat.v1\r\n`,
        /^HTTP\/1\.1 426 /,
        /\r\nsec-websocket-version: 13\r\n/i,
      ],
      [
        "no version: 426",
        `${upgrade}${key}Sec-WebSocket-Protocol: chat.v1\r\n`,
        /^HTTP\/1\.1 426 /,
      ],
      [
        "no key: 400",
        `${upgrade}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v1\r\n`,
        /^HTTP\/1\.1 400 /,
      ],
      [
        "a key of the wrong size: 400",
        `${upgrade}Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v1\r\n`,
        /^HTTP\/1\.1 400 /,
      ],
      [
        "no Connection: Upgrade: 400",
        `Upgrade: websocket\r\nConnection: keep-alive\r\n${key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v1\r\n`,
        /^HTTP\/1\.1 400 /,
      ],
      [
        "tokens in any case and list",
        `Upgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\n${key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v1\r\n`,
        /^HTTP\/1\.1 101 /,
        /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i,
      ],
      [
        "a protocol list without spaces",
        `${upgrade}${key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: x,chat.v1,chat.v2\r\n`,
        /^HTTP\/1\.1 101 /,
        /\r\nsec-websocket-protocol: chat\.v2\r\n/i,
      ],
      [
        "no protocol in common: 400",
        `${upgrade}${key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v3\r\n`,
        /^HTTP\/1\.1 400 /,
      ],
      [
        "no protocol offered: 400",
        `${upgrade}${key}Sec-WebSocket-Version: 13\r\n`,
        /^HTTP\/1\.1 400 /,
      ],
    ];
    for (const [name, headers, status, header] of cases) {
      await t.step(name, async () => {
        const text = await rawHandshake(port, headers);
        assert.match(text, status);
        if (header) assert.match(text, header);
        if (/426/.test(status.source)) {
          assert.match(text, /\r\nupgrade: websocket\r\n/i);
        }
      });
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() chooses the subprotocol", async (t) => {
  const { server, base } = serveApp();
  try {
    await t.step("the server's first choice among the client's", async () => {
      const socket = await connect(`${base}/chat`, ["chat.v1", "chat.v2"]);
      assert.equal(socket.protocol, "chat.v2");
      assert.equal((await message(socket)).data, "protocol chat.v2");
      const done = closed(socket);
      socket.close();
      await done;
    });
    await t.step("a client with none of them cannot connect", async () => {
      await assert.rejects(() => connect(`${base}/chat`, ["chat.v9"]));
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() closes with 1011 when a handler fails, and logs it", async (t) => {
  const { server, base } = serveApp();
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    for (const how of ["sync", "async"]) {
      await t.step(how, async () => {
        logged.length = 0;
        const socket = await connect(`${base}/broken/${how}`);
        const done = closed(socket);
        socket.send("boom");
        const event = await done;
        assert.equal(event.code, 1011);
        assert.equal(event.reason, "Internal Error");
        assert.match(String(logged[0][0]), /WebSocket onMessage handler/);
        assert.match(String(logged[0][1]), /handler failed/);
      });
    }
  } finally {
    console.error = original;
    await server.shutdown();
  }
});

Deno.test("upgradeWebSocket() refuses handlers it does not know", () => {
  const request = new Request("http://x.test/", {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  for (
    const [handlers, message] of [
      [{ onmessage: () => {} }, /unknown handler "onmessage"/],
      [{ onMessage: "echo" }, /"onMessage" is not a function/],
      [null, /must be an object/],
    ] as const
  ) {
    assert.throws(
      () => upgradeWebSocket(request, handlers as unknown as WebSocketHandlers),
      { name: "TypeError", message },
    );
  }
});
