import assert from "node:assert/strict";
import { DispatcherApp, Request as PestoRequest, Response } from "@pesto/pesto";
import { TestApp, TestResponse } from "@pesto/pesto/testing";
import { Hono } from "hono";

Deno.test("TestApp calls objects with fetch as they are and wraps plain functions as Pesto handlers", async (t) => {
  await t.step("a DispatcherApp", async () => {
    const app = new DispatcherApp();
    app.match("/a", "GET", () => new Response("dispatcher"));
    assert.equal((await new TestApp(app).get("/a")).text, "dispatcher");
  });
  await t.step("a Hono app", async () => {
    const hono = new Hono().get("/a", (c) => c.text("hono"));
    assert.equal((await new TestApp(hono).get("/a")).text, "hono");
  });
  await t.step(
    "{ fetch } with a bare fetch handler gets the web request",
    async () => {
      let seen: unknown;
      const client = new TestApp({
        fetch: (request) => {
          seen = request;
          return Promise.resolve(new globalThis.Response("fetch"));
        },
      });
      assert.equal((await client.get("/")).text, "fetch");
      assert.ok(seen instanceof globalThis.Request);
    },
  );
  await t.step("a plain function gets a Pesto Request", async () => {
    let seen: unknown;
    const client = new TestApp((request) => {
      seen = request;
      return new Response(request.pathInfo);
    });
    assert.equal((await client.get("/p/q")).text, "/p/q");
    assert.ok(seen instanceof PestoRequest);
  });
  await t.step("anything else is refused", () => {
    for (const bad of [null, 42, {}, { fetch: "no" }]) {
      assert.throws(() => new TestApp(bad as never), TypeError);
    }
    assert.throws(
      () => new TestApp(() => new Response(), { baseUrl: "ftp://x" }),
      TypeError,
    );
  });
});

/** An app that describes the request it got. */
function describeApp() {
  return new TestApp(async (request) =>
    Response.json({
      method: request.method,
      uri: request.requestUri,
      query: [...request.query],
      contentType: request.contentType ?? null,
      body: ["POST", "PUT", "PATCH", "DELETE"].includes(request.method)
        ? await request.text()
        : null,
      remoteAddr: request.remoteAddr,
      header: request.getHeader("x-test") ?? null,
      cookie: request.getHeader("cookie") ?? null,
    }), { headers: { "X-Test": "default" }, remoteAddr: "192.0.2.1" });
}

Deno.test("TestApp builds requests from paths, queries, headers and bodies", async (t) => {
  const client = describeApp();
  type Seen = Record<string, unknown>;
  const cases: [string, () => Promise<TestResponse>, Seen][] = [
    [
      "get with a query in the path and in options",
      () => client.get("/s?a=1", { query: { b: ["2", "3"] } }),
      {
        method: "GET",
        uri: "http://localhost/s?a=1&b=2&b=3",
        query: [["a", "1"], ["b", "2"], ["b", "3"]],
      },
    ],
    ["get with an absolute URL", () => client.get("https://example.com/x"), {
      uri: "https://example.com/x",
    }],
    ["post a form", () => client.post("/f", { form: { q: "a b&c" } }), {
      method: "POST",
      contentType: "application/x-www-form-urlencoded",
      body: "q=a+b%26c",
    }],
    ["put JSON", () => client.put("/j", { json: { a: [1] } }), {
      method: "PUT",
      contentType: "application/json",
      body: '{"a":[1]}',
    }],
    [
      "patch a raw body with its own type",
      () =>
        client.patch("/r", {
          body: "<x/>",
          headers: { "Content-Type": "application/xml" },
        }),
      {
        method: "PATCH",
        contentType: "application/xml",
        body: "<x/>",
      },
    ],
    ["delete", () => client.delete("/d"), { method: "DELETE", body: "" }],
    ["any method", () => client.request("PROPFIND", "/p"), {
      method: "PROPFIND",
    }],
    ["default headers and client address", () => client.get("/"), {
      header: "default",
      remoteAddr: "192.0.2.1",
    }],
    [
      "per-call headers win",
      () => client.get("/", { headers: { "X-Test": "mine" } }),
      { header: "mine" },
    ],
  ];
  for (const [name, send, expected] of cases) {
    await t.step(name, async () => {
      const seen = (await send()).json<Seen>();
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(seen[key], value, key);
      }
    });
  }
  await t.step("two bodies at once are refused", async () => {
    await assert.rejects(
      () => client.post("/", { form: { a: "1" }, json: {} }),
      TypeError,
    );
  });
});

Deno.test("TestApp.head() drops the body even when the app sends one", async () => {
  const client = new TestApp({
    fetch: () => Promise.resolve(new globalThis.Response("body!")),
  });
  const r = await client.head("/");
  assert.equal(r.status, 200);
  assert.equal(r.text, "");
});

Deno.test("TestApp keeps cookies like a browser", async (t) => {
  const app = new DispatcherApp();
  app.match("/set", "GET", (request) => {
    let response = new Response("set");
    for (const [name, value] of request.query) {
      const [v, ...attrs] = value.split(";");
      response = response.addHeader(
        "Set-Cookie",
        `${name}=${v}${attrs.map((a) => `; ${a}`).join("")}`,
      );
    }
    return response;
  });
  app.match(
    "/<p:path>",
    "GET",
    (request) => new Response(request.getHeader("cookie") ?? ""),
  );
  app.match(
    "/",
    "GET",
    (request) => new Response(request.getHeader("cookie") ?? ""),
  );

  await t.step("a cookie set once is sent back", async () => {
    const client = new TestApp(app);
    await client.get("/set", { query: { a: "1;Path=/" } });
    assert.equal((await client.get("/")).text, "a=1");
    assert.equal(await client.cookie("a"), "1");
  });
  await t.step("Path scopes a cookie", async () => {
    const client = new TestApp(app);
    await client.get("/set", { query: { p: "1;Path=/admin" } });
    assert.equal((await client.get("/")).text, "");
    assert.equal((await client.get("/admin/x")).text, "p=1");
  });
  await t.step("Max-Age=0 removes a cookie", async () => {
    const client = new TestApp(app);
    await client.get("/set", { query: { a: "1;Path=/" } });
    await client.get("/set", { query: { a: ";Path=/;Max-Age=0" } });
    assert.equal((await client.get("/")).text, "");
  });
  await t.step("Secure cookies go over https only", async () => {
    const https = new TestApp(app, { baseUrl: "https://site.test" });
    await https.get("/set", { query: { s: "1;Path=/;Secure" } });
    assert.equal((await https.get("/")).text, "s=1");
    assert.equal((await https.get("http://site.test/")).text, "");
  });
  await t.step("cookies stay with their host", async () => {
    const client = new TestApp(app, { baseUrl: "http://a.test" });
    await client.get("/set", { query: { h: "1;Path=/" } });
    assert.equal((await client.get("http://b.test/")).text, "");
  });
  await t.step("a Cookie header of the call is merged", async () => {
    const client = new TestApp(app);
    await client.setCookie("jar=1; Path=/");
    assert.equal(
      (await client.get("/", { headers: { Cookie: "own=2" } })).text,
      "own=2; jar=1",
    );
  });
  await t.step("clearCookies() forgets them", async () => {
    const client = new TestApp(app);
    await client.setCookie("a=1; Path=/");
    client.clearCookies();
    assert.equal((await client.get("/")).text, "");
  });
});

Deno.test("TestApp follows redirects when asked", async (t) => {
  const app = new DispatcherApp();
  app.match("/see-other", "POST", () => Response.redirect("/target", 303));
  app.match("/temporary", "POST", () => Response.redirect("/target", 307));
  app.match("/found", "POST", () => Response.redirect("target", 302));
  app.match(
    "/target",
    ["GET", "POST"],
    async (request) =>
      new Response(
        `${request.method} ${
          request.method === "POST" ? await request.text() : ""
        }`.trim(),
      ),
  );
  app.match("/loop", "GET", () => Response.redirect("/loop", 302));

  const follow = new TestApp(app, { followRedirects: true, maxRedirects: 5 });
  const cases: [string, string, string][] = [
    ["/see-other", "GET", "303 turns into GET"],
    ["/found", "GET", "302 after POST turns into GET"],
    ["/temporary", "POST payload", "307 keeps the method and body"],
  ];
  for (const [path, expected, name] of cases) {
    await t.step(name, async () => {
      const r = await follow.post(path, { body: "payload" });
      assert.equal(r.status, 200);
      assert.equal(r.text, expected);
      assert.equal(r.url, "http://localhost/target");
    });
  }
  await t.step("not following by default", async () => {
    const r = await new TestApp(app).post("/see-other");
    assert.equal(r.status, 303);
    assert.equal(r.getHeader("location"), "http://localhost/target");
  });
  await t.step("per-call option wins", async () => {
    assert.equal(
      (await follow.post("/see-other", { followRedirects: false })).status,
      303,
    );
  });
  await t.step("a redirect loop throws", async () => {
    await assert.rejects(() => follow.get("/loop"), /Too many redirects/);
  });
});

Deno.test("TestApp.postMultipart() uploads files the app can read", async (t) => {
  const app = new DispatcherApp();
  app.match("/upload", "POST", async (request) => {
    const form = await request.form();
    const files = await request.files();
    const out = [];
    for (const [field, file] of files) {
      out.push({
        field,
        filename: file.filename,
        contentType: file.contentType,
        size: file.size,
        bytes: [...await file.bytes()],
      });
    }
    return Response.json({
      title: form.get("title"),
      tags: form.getAll("tag"),
      files: out,
    });
  });
  const client = new TestApp(app);
  const binary = new Uint8Array([0, 1, 2, 253, 254, 255, 13, 10, 45, 45]);
  const r = await client.postMultipart("/upload", {
    fields: { title: "Notes ✓", tag: ["a", "b"] },
    files: [
      {
        field: "doc",
        filename: "a.txt",
        contentType: "text/plain",
        content: "hello",
      },
      { field: "bin", filename: "../../etc/passwd", content: binary },
      {
        field: "blob",
        filename: "b.json",
        contentType: "application/json",
        content: new Blob(["{}"]),
      },
    ],
  });
  assert.equal(r.status, 200, r.text);
  const body = r.json<{
    title: string;
    tags: string[];
    files: {
      field: string;
      filename: string;
      contentType: string;
      size: number;
      bytes: number[];
    }[];
  }>();
  await t.step("text fields", () => {
    assert.equal(body.title, "Notes ✓");
    assert.deepEqual(body.tags, ["a", "b"]);
  });
  await t.step("a text file", () => {
    assert.deepEqual(body.files[0], {
      field: "doc",
      filename: "a.txt",
      contentType: "text/plain",
      size: 5,
      bytes: [...new TextEncoder().encode("hello")],
    });
  });
  await t.step(
    "binary content arrives intact, and the name is a base name",
    () => {
      assert.equal(body.files[1].filename, "passwd");
      assert.equal(body.files[1].contentType, "application/octet-stream");
      assert.deepEqual(body.files[1].bytes, [...binary]);
    },
  );
  await t.step("a Blob", () => {
    assert.equal(body.files[2].contentType, "application/json");
    assert.equal(body.files[2].size, 2);
  });
});

Deno.test("TestResponse reads the body and headers", async (t) => {
  await t.step("text in the declared charset", () => {
    const r = new TestResponse(
      new globalThis.Response(null, {
        headers: { "Content-Type": "text/plain; charset=ISO-8859-1" },
      }),
      new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
      "http://localhost/",
    );
    assert.equal(r.text, "café");
  });
  await t.step("an unknown charset falls back to UTF-8", () => {
    const r = new TestResponse(
      new globalThis.Response(null, {
        headers: { "Content-Type": "text/plain; charset=nope" },
      }),
      new TextEncoder().encode("é"),
      "http://localhost/",
    );
    assert.equal(r.text, "é");
  });
  await t.step("json() throws on a body that is not JSON", () => {
    const r = new TestResponse(
      new globalThis.Response(),
      new TextEncoder().encode("<html>"),
      "http://localhost/",
    );
    assert.throws(() => r.json(), SyntaxError);
  });
  await t.step("getHeaders() lists each Set-Cookie", async () => {
    const client = new TestApp(() =>
      new Response("x").addCookie("a", "1").addCookie("b", "2")
    );
    const r = await client.get("/");
    assert.deepEqual(r.getHeaders("set-cookie"), ["a=1", "b=2"]);
    assert.deepEqual(r.getHeaders("x-none"), []);
    assert.equal(r.getHeader("x-none"), undefined);
  });
});

Deno.test("TestApp runs onClose callbacks once the body is read", async () => {
  const events: string[] = [];
  const app = new DispatcherApp();
  app.match(
    "/body",
    "GET",
    () => new Response("x").onClose(() => events.push("body")),
  );
  app.match(
    "/empty",
    "GET",
    () =>
      new Response(null, { status: 204 }).onClose(() => events.push("empty")),
  );
  const client = new TestApp(app);
  await client.get("/body");
  await client.get("/empty");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(events, ["body", "empty"]);
});
