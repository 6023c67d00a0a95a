import assert from "node:assert/strict";
import {
  DEFAULT_LIMITS,
  encodePath,
  LengthRequired,
  makeQuery,
  MultiDict,
  parseQuery,
  PayloadTooLarge,
  Request,
  RequestParseError,
  RequestTimeout,
  Response,
  toHandler,
} from "@pesto/pesto";
import { rawRequest, startServer } from "./_raw_http.ts";

function post(
  body: BodyInit | null,
  headers: Record<string, string> = {},
  method = "POST",
): Request {
  return new Request(
    new globalThis.Request("http://x.test/form?q=query", {
      method,
      body,
      headers,
    }),
  );
}

const URLENCODED = { "content-type": "application/x-www-form-urlencoded" };

Deno.test("parseQuery() splits on & only and decodes as the WHATWG parser", async (t) => {
  const cases: [string, [string, string][]][] = [
    ["a=1&b=2", [["a", "1"], ["b", "2"]]],
    ["a=1;b=2", [["a", "1;b=2"]]],
    ["a=x+y%20z", [["a", "x y z"]]],
    ["a&b=&=c", [["a", ""], ["b", ""], ["", "c"]]],
    ["&&a=1&&", [["a", "1"]]],
    ["a==b", [["a", "=b"]]],
    ["a=%zz&b=%4&c=%", [["a", "%zz"], ["b", "%4"], ["c", "%"]]],
    ["a=%C3%28", [["a", "\uFFFD("]]],
    ["a=%E2%82%AC&%E2%82%AC=1", [["a", "€"], ["€", "1"]]],
    ["a=caf%C3%A9&a=2", [["a", "café"], ["a", "2"]]],
    ["", []],
  ];
  for (const [input, expected] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.deepEqual([...parseQuery(input)], expected);
    });
  }
  await t.step("bytes are decoded with the charset", () => {
    const latin = new Uint8Array([
      0x61,
      0x3d,
      0xe9,
      0x26,
      0x62,
      0x3d,
      0x25,
      0x45,
      0x39,
    ]);
    assert.deepEqual([...parseQuery(latin, "ISO-8859-1")], [["a", "é"], [
      "b",
      "é",
    ]]);
    assert.deepEqual([...parseQuery(latin)], [["a", "\uFFFD"], [
      "b",
      "\uFFFD",
    ]]);
  });
  await t.step("an unknown charset is a 400", () => {
    assert.throws(
      () => parseQuery("a=1", "no-such-charset"),
      RequestParseError,
    );
  });
});

Deno.test("makeQuery() builds & joined queries from any query data", async (t) => {
  const cases: [Parameters<typeof makeQuery>[0], string][] = [
    ["already=made", "already=made"],
    [
      { q: "a b&c", n: 2, ok: true, skip: null, gone: undefined },
      "q=a+b%26c&n=2&ok=true",
    ],
    [{ tag: ["x", "y"] }, "tag=x&tag=y"],
    [[["a", "1"], ["a", "2"]], "a=1&a=2"],
    [new MultiDict([["é", "€"]]), "%C3%A9=%E2%82%AC"],
  ];
  for (const [data, expected] of cases) {
    await t.step(expected, () => assert.equal(makeQuery(data), expected));
  }
});

Deno.test("encodePath() percent-encodes a decoded path", () => {
  assert.equal(encodePath("/a b/c%d/é?#"), "/a%20b/c%25d/%C3%A9%3F%23");
  assert.equal(
    encodePath("/keep/:@!$&'()*+,;=-._~"),
    "/keep/:@!$&'()*+,;=-._~",
  );
});

Deno.test("Request.form() reads urlencoded bodies", async (t) => {
  await t.step("values, blanks, ';' and bad escapes", async () => {
    const form = await post("a=1;2&b=&c&d=x+y&e=%zz&f=%FF&g=100%", URLENCODED)
      .form();
    assert.deepEqual([...form], [
      ["a", "1;2"],
      ["b", ""],
      ["c", ""],
      ["d", "x y"],
      ["e", "%zz"],
      ["f", "\uFFFD"],
      ["g", "100%"],
    ]);
  });
  await t.step("the charset parameter is honoured", async () => {
    const body = new Uint8Array([0x61, 0x3d, 0x25, 0x45, 0x39, 0xe8]);
    const form = await post(body, {
      "content-type": "application/x-www-form-urlencoded; charset=ISO-8859-1",
    }).form();
    assert.equal(form.get("a"), "éè");
  });
  await t.step("the charset can be set before reading", async () => {
    const request = post(new Uint8Array([0x61, 0x3d, 0xe9]), URLENCODED);
    request.charset = "ISO-8859-1";
    assert.equal(await request.get("a"), "é");
  });
  await t.step("an unknown charset is a 400", async () => {
    const request = post("a=1", {
      "content-type": "application/x-www-form-urlencoded; charset=klingon",
    });
    await assert.rejects(() => request.form(), RequestParseError);
  });
  await t.step("no Content-Type reads as urlencoded", async () => {
    const request = post(new Blob(["a=1"]));
    assert.equal(await request.get("a"), "1");
  });
  await t.step("other body types give an empty form", async () => {
    const form = await post('{"a":1}', { "content-type": "application/json" })
      .form();
    assert.equal(form.size, 0);
  });
  await t.step("PUT and PATCH read the body", async () => {
    for (const method of ["PUT", "PATCH"]) {
      assert.equal(await post("a=2", URLENCODED, method).get("a"), "2");
    }
  });
  await t.step("GET, HEAD and DELETE read a copy of the query", async () => {
    for (const method of ["GET", "HEAD", "DELETE"]) {
      const request = post(null, {}, method);
      const form = await request.form();
      assert.equal(form.get("q"), "query");
      form.set("q", "changed");
      assert.equal(request.query.get("q"), "query");
    }
  });
  await t.step(
    "the result is cached and the body can be read again",
    async () => {
      const request = post("a=1", URLENCODED);
      assert.equal(await request.form(), await request.form());
      assert.equal(await request.text(), "a=1");
    },
  );
});

Deno.test("Request body readers enforce their limits", async (t) => {
  const big = "a=" + "x".repeat(100);
  const cases: [string, () => Promise<unknown>, string][] = [
    [
      "urlencoded, declared",
      () =>
        new Request(
          new globalThis.Request("http://x.test/", {
            method: "POST",
            body: big,
            headers: { ...URLENCODED, "content-length": String(big.length) },
          }),
          { limits: { maxUrlencodedSize: 50 } },
        ).form(),
      "Urlencoded body over the limit of 50 bytes (maxUrlencodedSize)",
    ],
    [
      "urlencoded, streamed",
      () =>
        new Request(
          new globalThis.Request("http://x.test/", {
            method: "POST",
            body: stream(big),
            headers: URLENCODED,
          }),
          { limits: { maxUrlencodedSize: 50 } },
        ).form(),
      "Urlencoded body over the limit of 50 bytes (maxUrlencodedSize)",
    ],
    [
      "json, streamed",
      () =>
        new Request(
          new globalThis.Request("http://x.test/", {
            method: "POST",
            body: stream("[" + "1,".repeat(50) + "1]"),
          }),
          { limits: { maxBodySize: 20 } },
        ).json(),
      "Body over the limit of 20 bytes (maxBodySize)",
    ],
    [
      "bytes after a larger urlencoded read",
      async () => {
        const request = new Request(
          new globalThis.Request("http://x.test/", {
            method: "POST",
            body: big,
            headers: URLENCODED,
          }),
          { limits: { maxBodySize: 10 } },
        );
        await request.form();
        return request.bytes();
      },
      "Body over the limit of 10 bytes (maxBodySize)",
    ],
  ];
  for (const [name, read, message] of cases) {
    await t.step(name, async () => {
      const error = await read().then(() => assert.fail("no error"), (e) => e);
      assert.ok(error instanceof PayloadTooLarge, String(error));
      assert.equal(error.status, 413);
      assert.equal(error.message, message);
    });
  }
  await t.step("a malformed Content-Length is a 411", async () => {
    const raw = new globalThis.Request("http://x.test/", {
      method: "POST",
      body: "a=1",
      headers: { "content-length": "abc" },
    });
    await assert.rejects(() => new Request(raw).bytes(), LengthRequired);
  });
  await t.step(
    "a malformed Content-Length of a multipart body too",
    async () => {
      const raw = new globalThis.Request("http://x.test/", {
        method: "POST",
        body: "--b\r\n",
        headers: {
          "content-length": "abc",
          "content-type": "multipart/form-data; boundary=b",
        },
      });
      await assert.rejects(() => new Request(raw).form(), LengthRequired);
    },
  );
  await t.step("a body that stops arriving is a 408", async () => {
    const raw = new globalThis.Request("http://x.test/", {
      method: "POST",
      body: new ReadableStream({ start() {} }),
    });
    const request = new Request(raw, { limits: { bodyTimeout: 20 } });
    // Body deadlines never keep a process alive (a server does): hold the
    // event loop open while the deadline runs out.
    const alive = setTimeout(() => {}, 5_000);
    await assert.rejects(() => request.json(), RequestTimeout);
    clearTimeout(alive);
  });
  await t.step("a body that fails is a 400", async () => {
    const raw = new globalThis.Request("http://x.test/", {
      method: "POST",
      body: new ReadableStream({
        pull(controller) {
          controller.error(new Error("reset"));
        },
      }),
    });
    await assert.rejects(() => new Request(raw).text(), RequestParseError);
  });
  await t.step("limits come from toHandler options", async () => {
    const fetch = toHandler(
      async (request) => new Response(await request.text()),
      {
        limits: { maxBodySize: 3 },
      },
    );
    const response = await fetch(
      new globalThis.Request("http://x.test/", {
        method: "POST",
        body: "abcd",
      }),
    );
    assert.equal(response.status, 413);
    assert.equal(
      await response.text(),
      "Body over the limit of 3 bytes (maxBodySize)\n",
    );
  });
});

function stream(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 7) {
        controller.enqueue(bytes.slice(i, i + 7));
      }
      controller.close();
    },
  });
}

Deno.test("Request.json(), text() and bytes() read the body", async (t) => {
  await t.step("json() parses, and a bad body is a 400", async () => {
    assert.deepEqual(await post('{"a":[1]}').json(), { a: [1] });
    const error = await post("{nope").json().then(
      () => assert.fail(),
      (e) => e,
    );
    assert.ok(error instanceof RequestParseError);
    assert.equal(error.message, "Malformed JSON body");
  });
  await t.step("text() decodes with the charset", async () => {
    const request = post(new Uint8Array([0x63, 0xe9]), {
      "content-type": "text/plain; charset=latin1",
    });
    assert.equal(await request.text(), "cé");
  });
  await t.step(
    "bytes() is empty without a body and can be read twice",
    async () => {
      assert.equal((await post(null, {}, "GET").bytes()).length, 0);
      const request = post("xyz");
      assert.deepEqual(await request.bytes(), await request.bytes());
    },
  );
});

Deno.test("Request.limits merges given limits over the defaults", () => {
  const request = new Request(new globalThis.Request("http://x.test/"), {
    limits: { maxParts: 3, maxFiles: undefined },
  });
  assert.equal(request.limits.maxParts, 3);
  assert.equal(request.limits.maxFiles, DEFAULT_LIMITS.maxFiles);
  assert.equal(DEFAULT_LIMITS.maxFileMemorySize, 65536);
  assert.ok(Object.isFrozen(DEFAULT_LIMITS));
});

function at(url: string, scriptName?: string): Request {
  return new Request(new globalThis.Request(url), { scriptName });
}

Deno.test("Request URI getters", async (t) => {
  await t.step("url, scheme, host and query", () => {
    const r = at("https://x.test:8443/a/./b//c?q=1&q=2");
    assert.equal(r.url.href, "https://x.test:8443/a/b/c?q=1&q=2");
    assert.equal(r.scheme, "https");
    assert.equal(r.host, "x.test:8443");
    assert.deepEqual(r.query.getAll("q"), ["1", "2"]);
    r.url.pathname = "/changed";
    assert.equal(r.url.pathname, "/a/b/c");
  });
  await t.step("scriptName splits the path on a segment boundary", () => {
    const r = at("http://x.test/app/page", "/app");
    assert.equal(r.pathInfo, "/page");
    assert.equal(r.requestPath, "/app/page");
    assert.equal(r.applicationUri, "http://x.test/app");
    assert.equal(at("http://x.test/app", "/app").pathInfo, "/");
    const other = at("http://x.test/application", "/app");
    assert.equal(other.pathInfo, "/application");
    assert.equal(other.encodedPath, "/application");
  });
  await t.step("encodedPath and pathSegments", () => {
    const r = at("http://x.test/sp%20ace/a%2Fb/", "/sp ace");
    assert.equal(r.encodedPath, "/a%2Fb/");
    assert.deepEqual(r.pathSegments, ["sp ace", "a/b"]);
  });
  await t.step("requestUri and applicationUri", () => {
    const r = at("http://x.test/a%20b?c=d");
    assert.equal(r.requestUri, "http://x.test/a%20b?c=d");
    assert.equal(r.applicationUri, "http://x.test");
  });
  await t.step("a malformed path is a 400", () => {
    const r = at("http://x.test/%FF");
    assert.throws(() => r.pathInfo, RequestParseError);
    assert.throws(() => r.requestUri, RequestParseError);
  });
  await t.step("headers, referrer, userAgent and contentType", () => {
    const r = new Request(
      new globalThis.Request("http://x.test/", {
        headers: {
          referer: "http://r.test/",
          "user-agent": "UA",
          "content-type": "Text/HTML; charset=utf-8",
        },
      }),
    );
    assert.equal(r.referrer, "http://r.test/");
    assert.equal(r.userAgent, "UA");
    assert.equal(r.contentType, "text/html");
    assert.equal(r.charset, "utf-8");
    assert.equal(r.getHeader("X-None", "fallback"), "fallback");
    assert.equal(r.method, "GET");
    const bare = at("http://x.test/");
    assert.equal(bare.referrer, undefined);
    assert.equal(bare.contentType, undefined);
  });
  await t.step("remoteAddr comes from the connection", () => {
    const info = {
      remoteAddr: { transport: "tcp", hostname: "10.1.2.3", port: 5000 },
      completed: Promise.resolve(),
    } as Deno.ServeHandlerInfo<Deno.NetAddr>;
    const r = new Request(new globalThis.Request("http://x.test/"), { info });
    assert.equal(r.remoteAddr, "10.1.2.3");
  });
});

Deno.test("Request.makeUri() follows Pesto's make_uri", async (t) => {
  const r = at("http://x.test/banana/milkshake?a=1");
  const cases: [Parameters<Request["makeUri"]>[0], string][] = [
    [{}, "http://x.test/banana/milkshake?a=1"],
    [{ path: "pie" }, "http://x.test/banana/pie"],
    [{ path: "../strawberry" }, "http://x.test/strawberry"],
    [{ path: "../../../plum" }, "http://x.test/plum"],
    [{ path: "./" }, "http://x.test/banana/"],
    [{ path: "/caffè latte" }, "http://x.test/caff%C3%A8%20latte"],
    [{ path: "/100%" }, "http://x.test/100%25"],
    [
      { scheme: "https", host: "y.test:8080" },
      "https://y.test:8080/banana/milkshake?a=1",
    ],
    [{ query: "b=2" }, "http://x.test/banana/milkshake?b=2"],
    [{ query: "?b=2" }, "http://x.test/banana/milkshake?b=2"],
    [{ query: "" }, "http://x.test/banana/milkshake"],
    [
      { path: "/s", query: { q: "a b", tag: ["x", "y"] } },
      "http://x.test/s?q=a+b&tag=x&tag=y",
    ],
    [{ path: "/s", query: new MultiDict([["k", "v"]]) }, "http://x.test/s?k=v"],
    [
      { path: "/s", query: [["k", "1"], ["k", "2"]] },
      "http://x.test/s?k=1&k=2",
    ],
    [{ path: "/s", fragment: "top section" }, "http://x.test/s#top%20section"],
    [{ pathInfo: "/other" }, "http://x.test/other"],
    [{ scriptName: "/app", pathInfo: "/p q" }, "http://x.test/app/p%20q"],
  ];
  for (const [options, expected] of cases) {
    await t.step(JSON.stringify(options), () => {
      assert.equal(r.makeUri(options), expected);
    });
  }
  await t.step("a path ending in / resolves under it", () => {
    assert.equal(
      at("http://x.test/banana/milkshake/").makeUri({ path: "mmmm..." }),
      "http://x.test/banana/milkshake/mmmm...",
    );
  });
  await t.step("a malformed scheme or host is a TypeError", () => {
    assert.throws(() => r.makeUri({ host: "evil.test/x" }), TypeError);
    assert.throws(() => r.makeUri({ scheme: "java script" }), TypeError);
  });
});

Deno.test("Request body reads are shared between wrappers of one web request", async () => {
  const raw = new globalThis.Request("http://x.test/", {
    method: "POST",
    body: "a=1",
    headers: URLENCODED,
  });
  assert.equal(await new Request(raw).get("a"), "1");
  assert.equal(await new Request(raw).text(), "a=1");
});

Deno.test("encodePath() encodes text and refuses lone surrogates", () => {
  assert.equal(encodePath("/a b/ü/%/😀"), "/a%20b/%C3%BC/%25/%F0%9F%98%80");
  assert.throws(() => encodePath("/bad\uD800"), TypeError);
});

Deno.test("a served body of 4 KiB or more is released once its response is sent", async (t) => {
  const kept: Record<string, Request> = {};
  let handedOut: Uint8Array | undefined;
  const server = startServer(toHandler(async (request) => {
    kept[request.pathInfo] = request;
    if (request.pathInfo === "/late") {
      // Read by the response's body, after the handler has returned.
      return new Response((async function* () {
        yield (await request.text()).length === 10_000 ? "ok" : "wrong";
      })());
    }
    if (request.pathInfo === "/bytes") handedOut = await request.bytes();
    else if (request.pathInfo === "/form") await request.form();
    else await request.text();
    return new Response("ok");
  }));
  const post = async (path: string, body: string, type = "text/plain") => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      method: "POST",
      body,
      headers: { "content-type": type },
    });
    assert.equal(await response.text(), "ok");
    // The release waits for the response to be sent.
    await new Promise((resolve) => setTimeout(resolve, 50));
  };
  try {
    await t.step(
      "read in the handler, then again later: a TypeError",
      async () => {
        await post("/text", "x".repeat(10_000));
        await assert.rejects(
          () => kept["/text"].text(),
          (error: Error) =>
            error instanceof TypeError &&
            /after its response was sent/.test(error.message),
        );
      },
    );
    await t.step("a urlencoded form: its parsed values stay", async () => {
      await post(
        "/form",
        `a=${"y".repeat(5000)}&b=2`,
        "application/x-www-form-urlencoded",
      );
      const form = await kept["/form"].form();
      assert.equal(form.get("a"), "y".repeat(5000));
      await assert.rejects(() => kept["/form"].bytes(), TypeError);
    });
    await t.step("bytes() handed out are never released", async () => {
      await post("/bytes", "z".repeat(10_000));
      assert.equal(handedOut?.byteLength, 10_000);
      assert.ok(handedOut?.every((byte) => byte === 0x7a));
      assert.equal(await kept["/bytes"].bytes(), handedOut);
    });
    await t.step("read only while the response streams: whole", async () => {
      await post("/late", "x".repeat(10_000));
    });
    await t.step("a smaller body stays readable", async () => {
      await post("/small", "s".repeat(4095));
      assert.equal(await kept["/small"].text(), "s".repeat(4095));
    });
  } finally {
    await server.close();
  }
});

Deno.test("a body of 4 KiB or more of a request made in-process is never released", async () => {
  let kept: Request | undefined;
  const handler = toHandler(async (request) => {
    kept = request;
    return new Response(String((await request.text()).length));
  });
  const response = await handler(
    new globalThis.Request("http://x.test/", {
      method: "POST",
      body: "q".repeat(10_000),
    }),
  );
  assert.equal(await response.text(), "10000");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal((await kept!.text()).length, 10_000);
});

Deno.test("a served body of unknown length is read whole, in one chunk or many", async (t) => {
  const server = startServer(toHandler(async (request) => {
    const text = await request.text();
    return new Response(`${text.length} ${text.slice(0, 3)} ${text.slice(-3)}`);
  }));
  const head = "POST / HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n" +
    "Transfer-Encoding: chunked\r\n\r\n";
  const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
  const later = (text: string) =>
    new Promise<string>((resolve) => setTimeout(() => resolve(text), 30));
  try {
    await t.step("one chunk", async () => {
      const response = await rawRequest(server.port, [
        head + chunk("abc" + "x".repeat(6000) + "xyz") + "0\r\n\r\n",
      ]);
      assert.equal(response.body, "6006 abc xyz");
    });
    await t.step("chunks arriving apart", async () => {
      const response = await rawRequest(server.port, [
        head + chunk("abc" + "x".repeat(3000)),
        later(chunk("y".repeat(3000))),
        later(chunk("z".repeat(3000) + "xyz") + "0\r\n\r\n"),
      ]);
      assert.equal(response.body, "9006 abc xyz");
    });
  } finally {
    await server.close();
  }
});
