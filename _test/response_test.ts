import assert from "node:assert/strict";
import { Response, STATUS_CODE, STATUS_TEXT } from "../response.ts";
import { toHandler } from "../core.ts";

Deno.test("Response accepts every kind of content", async (t) => {
  const encoder = new TextEncoder();
  const cases: [string, ConstructorParameters<typeof Response>[0], string][] = [
    ["a string", "héllo", "héllo"],
    ["bytes", encoder.encode("bytes"), "bytes"],
    ["a list of strings", ["a", "b", "c"], "abc"],
    ["a list of mixed chunks", ["a", encoder.encode("b")], "ab"],
    [
      "a generator",
      (function* () {
        yield "x";
        yield encoder.encode("y");
      })(),
      "xy",
    ],
    [
      "an async generator",
      (async function* () {
        yield "p";
        await Promise.resolve();
        yield "q";
      })(),
      "pq",
    ],
    ["a ReadableStream", ReadableStream.from([encoder.encode("s")]), "s"],
    ["a Blob", new Blob(["blob"]), "blob"],
    ["nothing", undefined, ""],
    ["null", null, ""],
  ];
  for (const [name, content, expected] of cases) {
    await t.step(name, async () => {
      assert.equal(await new Response(content).text(), expected);
    });
  }
});

Deno.test("Response rejects content it cannot send", () => {
  assert.throws(() => new Response(42 as unknown as string), TypeError);
});

Deno.test("Response sets the default Content-Type, except where none belongs", () => {
  assert.equal(new Response("x").contentType, "text/html; charset=UTF-8");
  assert.equal(new Response(null).contentType, "text/html; charset=UTF-8");
  assert.equal(new Response(null, { status: 204 }).contentType, undefined);
  assert.equal(new Response(null, { status: 304 }).contentType, undefined);
  assert.equal(
    new Response("x", { contentType: "application/json" }).contentType,
    "application/json",
  );
  assert.equal(
    new Response("x", { contentType: "text/csv" }).contentType,
    "text/csv; charset=UTF-8",
  );
  assert.equal(
    new Response("x", { headers: { "Content-Type": "image/png" } }).contentType,
    "image/png",
  );
  const form = new FormData();
  form.set("a", "1");
  assert.match(
    new Response(form).contentType!,
    /^multipart\/form-data; boundary=/,
  );
});

Deno.test("Response types plain UTF-8 text as the web platform does, whatever the path", async () => {
  const plain = new Response("h\u00e9", { contentType: "text/plain" });
  assert.deepEqual([...plain.headers], [[
    "content-type",
    "text/plain;charset=UTF-8",
  ]]);
  assert.equal(plain.charset, "UTF-8");
  assert.equal(await plain.text(), "h\u00e9");
  const withHeaders = new Response("x", {
    contentType: "TEXT/PLAIN",
    charset: "utf8",
    headers: { "X-A": "1" },
  });
  assert.deepEqual(withHeaders.getHeaders("content-type"), [
    "text/plain;charset=UTF-8",
  ]);
  assert.equal(
    plain.addHeader("X-B", "2").contentType,
    "text/plain;charset=UTF-8",
  );
  // Other charsets, and a charset given in the type, are kept as written.
  assert.equal(
    new Response("x", { contentType: "text/plain", charset: "latin1" })
      .contentType,
    "text/plain; charset=latin1",
  );
  assert.equal(
    new Response("x", { contentType: "text/plain; charset=utf-8" }).contentType,
    "text/plain; charset=utf-8",
  );
  // Served, the header is sent once.
  const fetch = toHandler(() =>
    new Response("ok", { contentType: "text/plain" })
  );
  const served = await fetch(new Request("http://x.test/"));
  assert.deepEqual(
    served.headers.get("content-type"),
    "text/plain;charset=UTF-8",
  );
});

Deno.test("Response drops the body of null-body statuses", async () => {
  const r = new Response("ignored", { status: 204 });
  assert.equal(r.body, null);
  assert.equal(await r.text(), "");
});

Deno.test("Response encodes strings with its charset", async (t) => {
  await t.step("ISO-8859-1", async () => {
    const r = new Response(["caf", "é"], {
      contentType: "text/plain",
      charset: "ISO-8859-1",
    });
    assert.equal(r.charset, "ISO-8859-1");
    assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [
      0x63,
      0x61,
      0x66,
      0xe9,
    ]);
  });
  await t.step("ISO-8859-1 replaces what it lacks with ?", async () => {
    const r = new Response("€", { charset: "latin1" });
    assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [0x3f]);
  });
  await t.step("UTF-8 by default", async () => {
    const r = new Response("é");
    assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [0xc3, 0xa9]);
  });
  await t.step("an unsupported charset throws", () => {
    assert.throws(
      () => new Response("x", { charset: "shift_jis" }),
      /Cannot encode text/,
    );
  });
});

Deno.test("Response headers: records skip null and repeat arrays; bad values throw", () => {
  const r = new Response("", {
    headers: { "X-A": "1", "X-B": null, "X-C": ["2", 3], "X-D": undefined },
  });
  assert.equal(r.getHeader("x-a"), "1");
  assert.equal(r.getHeader("x-b"), undefined);
  assert.equal(r.getHeader("x-c"), "2, 3");
  assert.equal(r.getHeader("x-d", "fallback"), "fallback");
  assert.throws(
    () => new Response("", { headers: { "X-Bad": "a\r\nSet-Cookie: x=1" } }),
    TypeError,
  );
  assert.throws(() => new Response("").addHeader("X-Bad", "a\nb"), TypeError);
  assert.throws(() => new Response("").addHeader("Bad Name", "v"), TypeError);
});

Deno.test("Response status text comes from STATUS_TEXT", () => {
  assert.equal(new Response("", { status: 404 }).statusText, "Not Found");
  assert.equal(new Response("", { status: 599 }).statusText, "");
  assert.equal(
    new Response("", { status: 200, statusText: "Hoopy" }).statusText,
    "Hoopy",
  );
  assert.equal(STATUS_CODE.NotFound, 404);
  assert.equal(STATUS_TEXT[STATUS_CODE.ContentTooLarge], "Content Too Large");
});

Deno.test("Response modifiers return new responses and leave the old ones alone", async (t) => {
  const base = new Response("body", { headers: { "X-Keep": "1" } });

  await t.step("addHeader appends", () => {
    const r = base.addHeader("X-Keep", "2");
    assert.notEqual(r, base);
    assert.equal(r.getHeader("x-keep"), "1, 2");
    assert.equal(base.getHeader("x-keep"), "1");
  });
  await t.step("addHeaders takes records and HeadersInit", () => {
    const r = base.addHeaders({ "X-A": ["1", "2"] }).addHeaders([["X-B", "3"]]);
    assert.equal(r.getHeader("x-a"), "1, 2");
    assert.equal(r.getHeader("x-b"), "3");
  });
  await t.step("removeHeaders is case-insensitive", () => {
    const r = base.removeHeaders("x-KEEP", "content-type");
    assert.equal(r.getHeader("x-keep"), undefined);
    assert.equal(r.contentType, undefined);
    assert.equal(base.getHeader("x-keep"), "1");
  });
  await t.step("addCookie and deleteCookie add Set-Cookie headers", () => {
    const r = base.addCookie("a", "1 2", { path: "/", httpOnly: true })
      .deleteCookie("b");
    assert.deepEqual(r.getHeaders("set-cookie"), [
      "a=1%202; Path=/; HttpOnly",
      "b=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ]);
  });
  await t.step("addCookie refuses what RFC 6265 forbids", () => {
    assert.throws(() => base.addCookie("bad;name", "v"), TypeError);
    assert.throws(() => base.addCookie("__Secure-x", "v"), /__Secure-/);
  });
  await t.step(
    "replace swaps content, status or the whole header set",
    async () => {
      const r = base.replace({ content: "new", status: 201 });
      assert.equal(r.status, 201);
      assert.equal(r.statusText, "Created");
      assert.equal(r.getHeader("x-keep"), "1");
      assert.equal(await r.text(), "new");
      const h = base.replace({ headers: { "X-Only": "yes" } });
      assert.equal(h.getHeader("x-keep"), undefined);
      assert.equal(h.getHeader("x-only"), "yes");
      assert.equal(
        h.contentType,
        undefined,
        "a given header set is taken as is",
      );
      assert.equal(await h.text(), "body");
    },
  );
  await t.step("the body survives a modifier when it is a string", async () => {
    const r = base.addHeader("X-New", "1");
    assert.equal(await r.text(), "body");
    assert.equal(await base.text(), "body");
  });
  await t.step("a stream body moves to the new response", async () => {
    const streamed = new Response(
      ReadableStream.from([new TextEncoder().encode("once")]),
    );
    const moved = streamed.addHeader("X-Moved", "1");
    assert.equal(await moved.text(), "once");
  });
});

Deno.test("Response.buffered() reads the body and sets Content-Length", async () => {
  async function* chunks() {
    yield "ab";
    yield "cé";
  }
  const r = await new Response(chunks(), { status: 202 }).buffered();
  assert.equal(r.status, 202);
  assert.equal(r.getHeader("content-length"), "5");
  assert.equal(await r.text(), "abcé");
});

Deno.test("Response.onClose() runs callbacks once, after the body", async (t) => {
  await t.step("after the body is read", async () => {
    const order: string[] = [];
    const r = new Response((function* () {
      order.push("body");
      yield "x";
    })()).onClose(() => void order.push("first")).onClose(() =>
      void order.push("second")
    );
    assert.deepEqual(order, []);
    await r.text();
    assert.deepEqual(order, ["body", "first", "second"]);
  });
  await t.step("when the body is cancelled (client went away)", async () => {
    let closed = 0;
    const r = new Response(
      ReadableStream.from(["a", "b"].map((s) => new TextEncoder().encode(s))),
    )
      .onClose(() => void closed++);
    await r.body!.cancel();
    assert.equal(closed, 1);
  });
  await t.step(
    "an error in one callback does not stop the others",
    async () => {
      const errors: unknown[] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void errors.push(args);
      try {
        let ran = false;
        const r = new Response("x").onClose(() => {
          throw new Error("boom");
        }, () => {
          ran = true;
        });
        await r.text();
        assert.ok(ran);
        assert.equal(errors.length, 1);
      } finally {
        console.error = original;
      }
    },
  );
  await t.step("carried through later modifiers, run once", async () => {
    let closed = 0;
    const r = new Response("x").onClose(() => void closed++).addHeader(
      "X-A",
      "1",
    );
    await r.text();
    assert.equal(closed, 1);
  });
  await t.step("a body-less response runs them once it is sent", async () => {
    let closed = false;
    const fetch = toHandler(() =>
      new Response(null, { status: 204 }).onClose(() => {
        closed = true;
      })
    );
    const r = await fetch(new Request("http://localhost/"));
    assert.equal(r.status, 204);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(closed);
  });
});

Deno.test("Response canned responses", async (t) => {
  const cases: [string, Response, number, RegExp][] = [
    ["notFound", Response.notFound(), 404, /<h1>Not found<\/h1>/],
    ["forbidden", Response.forbidden(), 403, /Sorry, access is denied/],
    [
      "forbidden escapes",
      Response.forbidden("<script>"),
      403,
      /&lt;script&gt;/,
    ],
    ["badRequest", Response.badRequest(), 400, /could not understand/],
    ["badRequest escapes", Response.badRequest("a & b"), 400, /a &amp; b/],
    ["lengthRequired", Response.lengthRequired(), 411, /Content-Length/],
    [
      "requestEntityTooLarge",
      Response.requestEntityTooLarge(),
      413,
      /Too Large/,
    ],
    [
      "methodNotAllowed",
      Response.methodNotAllowed(["PUT", "GET", "PUT"]),
      405,
      /Method not allowed/,
    ],
    [
      "internalServerError",
      Response.internalServerError(),
      500,
      /Internal Server Error/,
    ],
  ];
  for (const [name, response, status, body] of cases) {
    await t.step(name, async () => {
      assert.equal(response.status, status);
      assert.equal(response.contentType, "text/html; charset=UTF-8");
      assert.match(await response.text(), body);
    });
  }
  await t.step("methodNotAllowed sorts and de-duplicates Allow", () => {
    assert.equal(
      Response.methodNotAllowed(["PUT", "GET", "PUT"]).getHeader("allow"),
      "GET, PUT",
    );
  });
});

Deno.test("Response.redirect()", async (t) => {
  await t.step("absolute locations are kept", async () => {
    const r = Response.redirect("https://example.com/a?b=1");
    assert.equal(r.status, 302);
    assert.equal(r.getHeader("location"), "https://example.com/a?b=1");
    assert.match(await r.text(), /<a href='https:\/\/example.com\/a\?b=1'>/);
  });
  await t.step(
    "relative locations resolve against the current request, browser-style",
    async () => {
      const fetch = toHandler((request) =>
        Response.redirect(request.query.get("to")!, 303)
      );
      const cases: [string, string][] = [
        ["baz", "http://x.test/foo/baz"],
        ["../up", "http://x.test/up"],
        ["/abs", "http://x.test/abs"],
        ["?page=2", "http://x.test/foo/bar?page=2"],
        ["//evil.example/x", "http://x.test/evil.example/x"],
        ["/\\evil.example", "http://x.test/evil.example"],
      ];
      for (const [to, expected] of cases) {
        const r = await fetch(
          new Request(`http://x.test/foo/bar?to=${encodeURIComponent(to)}`),
        );
        assert.equal(r.status, 303);
        assert.equal(r.headers.get("location"), expected, to);
      }
    },
  );
  await t.step("outside a request a relative location is sent as given", () => {
    assert.equal(Response.redirect("/login").getHeader("location"), "/login");
    assert.equal(
      Response.redirect("//evil.example").getHeader("location"),
      "/evil.example",
    );
  });
  await t.step("CR, LF and NUL are refused", () => {
    assert.throws(() => Response.redirect("/a\r\nSet-Cookie: x=1"), TypeError);
    assert.throws(() => Response.redirect("/a\0"), TypeError);
  });
  await t.step("only redirect statuses", () => {
    assert.throws(
      () => Response.redirect("/a", 200),
      /301, 302, 303, 307 or 308/,
    );
    for (const status of [301, 302, 303, 307, 308]) {
      assert.equal(Response.redirect("/a", status).status, status);
    }
  });
  await t.step("the link in the body is escaped", async () => {
    const r = Response.redirect("https://example.com/?a='<b>'");
    assert.doesNotMatch(await r.text(), /'<b>'/);
  });
});

Deno.test("Response.json()", async () => {
  const r = Response.json({ a: [1, "é"] }, {
    status: 201,
    headers: { "X-A": "1" },
  });
  assert.equal(r.status, 201);
  assert.equal(r.contentType, "application/json");
  assert.equal(r.getHeader("x-a"), "1");
  assert.deepEqual(await r.json(), { a: [1, "é"] });
});

Deno.test("Response is a web Response and works with Deno.serve", async () => {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response(["<p>", "served", "</p>"]).addHeader("X-Pesto", "yes"),
  );
  try {
    const r = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.ok(new Response("") instanceof globalThis.Response);
    assert.equal(r.headers.get("x-pesto"), "yes");
    assert.equal(r.headers.get("content-type"), "text/html; charset=UTF-8");
    assert.equal(await r.text(), "<p>served</p>");
  } finally {
    await server.shutdown();
  }
});
