// Hostile input over a real socket: new Request() normalises targets, so
// these tests speak raw HTTP/1.1 to Deno.serve on 127.0.0.1.
import assert from "node:assert/strict";
import { Response, toHandler } from "@pesto/pesto";
import { multipartBody, rawRequest, startServer } from "./_raw_http.ts";
import { startPortServer } from "./_process.ts";

const echo = toHandler((request) =>
  new Response(
    JSON.stringify({
      pathInfo: request.pathInfo,
      encodedPath: request.encodedPath,
      segments: request.pathSegments,
      host: request.host,
      scheme: request.scheme,
      requestUri: request.requestUri,
      remoteAddr: request.remoteAddr,
    }),
    { contentType: "application/json" },
  )
);

function get(target: string, host = "h.test"): string {
  return `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}

Deno.test("toHandler reads hostile request targets through one canonical path", async (t) => {
  const server = startServer(echo);
  try {
    const ok: [string, Record<string, unknown>][] = [
      ["/a/../b/%2e%2e/./c", { pathInfo: "/c", segments: ["c"] }],
      ["//x//y", { pathInfo: "/x/y", encodedPath: "/x/y" }],
      ["/a\\b", { pathInfo: "/a/b", segments: ["a", "b"] }],
      ["/../../etc/passwd", { pathInfo: "/etc/passwd" }],
      ["/%2e%2E/x", { pathInfo: "/x" }],
      ["/a/b/..", { pathInfo: "/a/" }],
      ["/a%2Fb/c", { segments: ["a/b", "c"], encodedPath: "/a%2Fb/c" }],
      ["/caf%C3%A9", { pathInfo: "/café", encodedPath: "/caf%C3%A9" }],
      ["/p?x=1#frag", { requestUri: "http://h.test/p?x=1" }],
      [
        "http://other.example:8080/p?q=1",
        {
          host: "other.example:8080",
          pathInfo: "/p",
          requestUri: "http://other.example:8080/p?q=1",
        },
      ],
      ["/", { pathInfo: "/", segments: [], remoteAddr: "127.0.0.1" }],
    ];
    for (const [target, expected] of ok) {
      await t.step(`${target} is read canonically`, async () => {
        const response = await rawRequest(server.port, get(target));
        assert.equal(response.status, 200, response.body);
        const seen = JSON.parse(response.body);
        for (const [key, value] of Object.entries(expected)) {
          assert.deepEqual(seen[key], value, key);
        }
      });
    }
    const bad: [string, string][] = [
      ["/a%00b", "Malformed path: NUL byte"],
      ["/%", "Malformed path: bad percent-escape"],
      ["/a/%zz", "Malformed path: bad percent-escape"],
      ["/%C3%28", "Malformed path: invalid UTF-8"],
      ["/%ED%A0%80", "Malformed path: invalid UTF-8"],
      ["/%FF", "Malformed path: invalid UTF-8"],
    ];
    for (const [target, message] of bad) {
      await t.step(`${target} is a 400`, async () => {
        const response = await rawRequest(server.port, get(target));
        assert.equal(response.status, 400);
        assert.equal(response.body, message + "\n");
      });
    }
  } finally {
    await server.close();
  }
});

Deno.test("toHandler answers 400 to a malformed Host before the handler runs", async (t) => {
  let calls = 0;
  const server = startServer(toHandler((request) => {
    calls++;
    return new Response(request.host);
  }));
  try {
    for (
      const host of [
        "x/admin",
        "x?",
        "x#y",
        "x:99999",
        "[:::]",
        "1.2.3.999",
        "a@b",
        "ex ample",
      ]
    ) {
      await t.step(`Host: ${host}`, async () => {
        const response = await rawRequest(
          server.port,
          get("/public/a.txt", host),
        );
        assert.equal(response.status, 400);
        assert.equal(response.body, "Malformed Host header\n");
      });
    }
    assert.equal(calls, 0);
    for (
      const [host, seen] of [["[::1]:8080", "[::1]:8080"], [
        "Example.COM:80",
        "Example.COM:80",
      ]]
    ) {
      await t.step(`Host: ${host} is served`, async () => {
        const response = await rawRequest(server.port, get("/", host));
        assert.equal(response.status, 200);
        assert.equal(response.body, seen);
      });
    }
    await t.step("an empty Host is the server's own address", async () => {
      const response = await rawRequest(server.port, get("/", ""));
      assert.equal(response.status, 200);
      assert.match(response.body, /^localhost:\d+$/);
    });
  } finally {
    await server.close();
  }
});

const BOUNDARY = "raw-test-boundary";

function post(
  type: string,
  body: string | Uint8Array,
  options: { length?: number | string; chunked?: boolean } = {},
): (string | Uint8Array)[] {
  const bytes = typeof body === "string"
    ? new TextEncoder().encode(body)
    : body;
  let head =
    `POST /form HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: ${type}\r\n`;
  if (options.chunked) {
    head += "Transfer-Encoding: chunked\r\n\r\n";
    const parts: (string | Uint8Array)[] = [head];
    for (let i = 0; i < bytes.byteLength; i += 1000) {
      const chunk = bytes.subarray(i, i + 1000);
      parts.push(`${chunk.byteLength.toString(16)}\r\n`, chunk, "\r\n");
    }
    parts.push("0\r\n\r\n");
    return parts;
  }
  head += `Content-Length: ${options.length ?? bytes.byteLength}\r\n\r\n`;
  return [head, bytes];
}

Deno.test("toHandler answers oversized and malformed bodies with 4xx", async (t) => {
  const server = startServer(toHandler(async (request) => {
    const form = await request.form();
    return new Response(JSON.stringify([...form.keys()]));
  }, {
    limits: {
      maxUrlencodedSize: 2000,
      maxMultipartSize: 5000,
      bodyTimeout: 200,
    },
  }));
  const urlencoded = "application/x-www-form-urlencoded";
  const multipart = `multipart/form-data; boundary=${BOUNDARY}`;
  const part =
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx`;
  const cases: [string, (string | Uint8Array)[], number, string][] = [
    [
      "an urlencoded body declared too large",
      post(urlencoded, "a=" + "x".repeat(3000)),
      413,
      "Urlencoded body over the limit of 2000 bytes (maxUrlencodedSize)",
    ],
    [
      "a chunked urlencoded body that grows too large",
      post(urlencoded, "a=" + "x".repeat(3000), { chunked: true }),
      413,
      "Urlencoded body over the limit of 2000 bytes (maxUrlencodedSize)",
    ],
    [
      "a chunked multipart body that grows too large",
      post(
        multipart,
        multipartBody(BOUNDARY, [{ name: "a", content: "x".repeat(6000) }]),
        { chunked: true },
      ),
      413,
      "Multipart body over the limit of 5000 bytes (maxMultipartSize)",
    ],
    [
      "multipart without a boundary",
      post("multipart/form-data", part),
      400,
      "Malformed multipart body: no boundary",
    ],
    [
      "garbage as multipart",
      post(multipart, "\u0000\u0001 not a form"),
      400,
      "Malformed multipart body: boundary not found",
    ],
    [
      "an unterminated multipart part",
      post(multipart, part),
      400,
      "Malformed multipart body: unterminated part",
    ],
    [
      "a body that stops arriving",
      post(urlencoded, "a=1", { length: 100 }),
      408,
      "Body not received in time",
    ],
    [
      "a multipart body that stops arriving",
      post(multipart, part, { length: 1000 }),
      408,
      "Body not received in time",
    ],
  ];
  try {
    for (const [name, request, status, message] of cases) {
      await t.step(name, async () => {
        const response = await rawRequest(server.port, request);
        assert.equal(response.status, status, response.body);
        assert.equal(response.body, message + "\n");
      });
    }
    await t.step("a well-formed multipart body is read", async () => {
      const body = multipartBody(BOUNDARY, [
        { name: "a", content: "1" },
        { name: "f", filename: "f.txt", content: "x".repeat(3000) },
      ]);
      const response = await rawRequest(server.port, post(multipart, body));
      assert.equal(response.status, 200);
      assert.equal(response.body, '["a","f"]');
    });
    await t.step("a malformed Content-Length is refused", async () => {
      const response = await rawRequest(
        server.port,
        post(urlencoded, "a=1", { length: "1x" }),
      );
      assert.equal(response.status, 400);
    });
  } finally {
    await server.close();
  }
});

/** Polls `read` (bounded) until it gives `expected`; returns the last value. */
async function eventually(
  read: () => Promise<string>,
  expected: string,
): Promise<string> {
  let value = await read();
  for (let i = 0; i < 100 && value !== expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

Deno.test("Uploads spooled to temporary files leave none behind", async (t) => {
  const tmp = await Deno.makeTempDir();
  const server = await startPortServer(
    new URL("./_upload_server.ts", import.meta.url).pathname,
    { flags: ["--allow-all"], env: { TMPDIR: tmp } },
  );
  const port = server.port;
  try {
    const spooled = async () => (await rawRequest(port, get("/spooled"))).body;
    const upload = (path: string) => {
      const body = multipartBody(BOUNDARY, [
        { name: "f", filename: "f.bin", content: new Uint8Array(100_000) },
      ]);
      return post(`multipart/form-data; boundary=${BOUNDARY}`, body).map((
        part,
      ) => typeof part === "string" ? part.replace("/form", path) : part);
    };

    await t.step("after a handler that succeeded", async () => {
      const response = await rawRequest(port, upload("/upload"));
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), {
        sizes: [100_000],
        spooled: 1,
      });
      assert.equal(await eventually(spooled, "0 0"), "0 0");
    });
    await t.step("after a handler that threw", async () => {
      const response = await rawRequest(port, upload("/throw"));
      assert.equal(response.status, 500);
      assert.equal(await eventually(spooled, "0 0"), "0 0");
    });
    await t.step("after a client that went away mid-upload", async () => {
      const [head, body] = upload("/upload");
      await rawRequest(port, [head, (body as Uint8Array).subarray(0, 60_000)], {
        hangUp: true,
      });
      // The count of failed reads goes up once the files are removed.
      assert.equal(await eventually(spooled, "0 1"), "0 1");
    });
  } finally {
    await server.stop();
    const left = [...Deno.readDirSync(tmp)].map((entry) => entry.name);
    await Deno.remove(tmp, { recursive: true });
    assert.deepEqual(left, []);
  }
});

Deno.test("onClose callbacks can read the request's headers after the response is sent", async () => {
  const seen: string[] = [];
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const fetch = toHandler((request) => {
    const note = () => {
      try {
        seen.push(`${request.getHeader("user-agent")} ${request.pathInfo}`);
      } catch (error) {
        seen.push(String(error));
      }
      if (seen.length === 2) resolve();
    };
    return request.pathInfo === "/empty"
      ? new Response(null, { status: 204 }).onClose(note)
      : new Response("body").onClose(note);
  });
  const server = startServer(fetch);
  try {
    for (const path of ["/body", "/empty"]) {
      const response = await rawRequest(
        server.port,
        `GET ${path} HTTP/1.1\r\nHost: h.test\r\nUser-Agent: agent-${path}\r\n` +
          "Connection: close\r\n\r\n",
      );
      assert.ok(response.status === 200 || response.status === 204);
    }
    await done;
    assert.deepEqual(seen.sort(), [
      "agent-/body /body",
      "agent-/empty /empty",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("a served request's form reads the Content-Type and Content-Length sent, which stay readable after the response", async () => {
  const seen: string[] = [];
  let later = () => "";
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const fetch = toHandler(async (request) => {
    const name = await request.get("name");
    const read = () => {
      try {
        return `${request.contentType} ${request.getHeader("content-length")}`;
      } catch (error) {
        return String(error);
      }
    };
    later = read;
    return new Response(`${name} ${request.contentType} ${request.charset}`)
      .onClose(() => {
        seen.push(read());
        resolve();
      });
  });
  const server = startServer(fetch);
  try {
    const body = "name=caf%E9";
    const response = await rawRequest(
      server.port,
      "POST /f HTTP/1.1\r\nHost: h.test\r\n" +
        "Content-Type: Application/X-WWW-Form-URLEncoded; charset=ISO-8859-1\r\n" +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(response.status, 200);
    // Chunked: a body watched for onClose has no declared length.
    assert.match(
      response.body,
      /\r\ncafé application\/x-www-form-urlencoded ISO-8859-1\r\n/,
    );
    await done;
    // The server has closed the connection: the request is done with.
    seen.push(later());
    assert.deepEqual(seen, [
      "application/x-www-form-urlencoded 11",
      "application/x-www-form-urlencoded 11",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("onClose callbacks of a served response run once, with a body or without", async () => {
  const runs: Record<string, number> = { "/body": 0, "/empty": 0 };
  const fetch = toHandler((request) => {
    const path = request.pathInfo;
    const note = () => void runs[path]++;
    return path === "/empty"
      ? new Response(null, { status: 204 }).onClose(note)
      : new Response("body").onClose(note);
  });
  const server = startServer(fetch);
  try {
    for (const path of ["/body", "/empty"]) {
      await rawRequest(
        server.port,
        `GET ${path} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n`,
      );
    }
    // Long enough for a second run after the response was sent to show.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(runs, { "/body": 1, "/empty": 1 });
  } finally {
    await server.close();
  }
});
