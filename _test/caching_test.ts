import assert from "node:assert/strict";
import {
  compose,
  conditional,
  DispatcherApp,
  makeEtag,
  noCache,
  Response,
  withEtag,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";

const LAST_MODIFIED = "Sun, 06 Nov 1994 08:49:37 GMT";
const EARLIER = "Sat, 05 Nov 1994 08:49:37 GMT";
const LATER = "Mon, 07 Nov 1994 08:49:37 GMT";

Deno.test("makeEtag() makes quoted tags from versions", async (t) => {
  const cases: [string, unknown, string | RegExp][] = [
    ["an integer", 42, '"42"'],
    ["a float", 1.5, '"1.5"'],
    ["a bigint", 10n ** 20n, '"100000000000000000000"'],
    ["a short string", "v1-beta", '"v1-beta"'],
    ["a Date", new Date(1000), '"1000"'],
    ["a string with a quote (hashed)", 'a"b', /^"[A-Za-z0-9_-]{32}"$/],
    ["a string with a backslash (hashed)", "a\\b", /^"[A-Za-z0-9_-]{32}"$/],
    ["a long string (hashed)", "x".repeat(65), /^"[A-Za-z0-9_-]{32}"$/],
    ["an empty string (hashed)", "", /^"[A-Za-z0-9_-]{32}"$/],
    ["an object (hashed)", { id: 1 }, /^"[A-Za-z0-9_-]{32}"$/],
  ];
  for (const [name, value, expected] of cases) {
    await t.step(name, async () => {
      const tag = await makeEtag(value);
      if (typeof expected === "string") assert.equal(tag, expected);
      else assert.match(tag, expected);
    });
  }
  await t.step(
    "the same data gives the same hash; other data another",
    async () => {
      assert.equal(
        await makeEtag({ a: [1, 2] }),
        await makeEtag({ a: [1, 2] }),
      );
      assert.notEqual(
        await makeEtag({ a: [1, 2] }),
        await makeEtag({ a: [2, 1] }),
      );
    },
  );
  await t.step("weak tags", async () => {
    assert.equal(await makeEtag(7, { weak: true }), 'W/"7"');
  });
  await t.step("undefined, functions and cycles are refused", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [undefined, () => 1, cyclic]) {
      await assert.rejects(() => makeEtag(bad), TypeError);
    }
  });
});

function resource(headers: Record<string, string>, status = 200) {
  let calls = 0;
  const app = {
    calls: () => calls,
    fetch: compose(conditional())((request) => {
      calls++;
      return Promise.resolve(
        new Response(request.method === "HEAD" ? null : "the content", {
          status,
          headers: {
            "Cache-Control": "max-age=60",
            Vary: "Accept",
            ...headers,
          },
          contentType: "text/plain",
        }),
      );
    }),
  };
  return app;
}

Deno.test("conditional() follows RFC 9110 precedence for GET and HEAD", async (t) => {
  const validators = { ETag: '"v2"', "Last-Modified": LAST_MODIFIED };
  const cases: [string, Record<string, string>, number][] = [
    ["no preconditions", {}, 200],
    ["If-None-Match matches", { "If-None-Match": '"v2"' }, 304],
    [
      "If-None-Match matches one of a list",
      { "If-None-Match": '"v1", "v2"' },
      304,
    ],
    ["If-None-Match weak comparison", { "If-None-Match": 'W/"v2"' }, 304],
    ["If-None-Match: *", { "If-None-Match": "*" }, 304],
    ["If-None-Match does not match", { "If-None-Match": '"v1"' }, 200],
    ["If-None-Match malformed", { "If-None-Match": "v2" }, 200],
    ["If-Modified-Since at Last-Modified", {
      "If-Modified-Since": LAST_MODIFIED,
    }, 304],
    ["If-Modified-Since later", { "If-Modified-Since": LATER }, 304],
    ["If-Modified-Since earlier", { "If-Modified-Since": EARLIER }, 200],
    ["If-Modified-Since invalid", { "If-Modified-Since": "yesterday" }, 200],
    [
      "If-None-Match wins over If-Modified-Since",
      { "If-None-Match": '"v1"', "If-Modified-Since": LATER },
      200,
    ],
    ["If-Match matches", { "If-Match": '"v2"' }, 200],
    ["If-Match: *", { "If-Match": "*" }, 200],
    ["If-Match does not match", { "If-Match": '"v1"' }, 412],
    ["If-Match uses the strong comparison", { "If-Match": 'W/"v2"' }, 412],
    ["If-Unmodified-Since later", { "If-Unmodified-Since": LATER }, 200],
    ["If-Unmodified-Since earlier", { "If-Unmodified-Since": EARLIER }, 412],
    [
      "If-Match wins over If-Unmodified-Since",
      { "If-Match": '"v2"', "If-Unmodified-Since": EARLIER },
      200,
    ],
    [
      "If-Match is evaluated before If-None-Match",
      { "If-Match": '"v1"', "If-None-Match": '"v2"' },
      412,
    ],
    [
      "obsolete RFC 850 dates are understood",
      { "If-Modified-Since": "Sunday, 06-Nov-94 08:49:37 GMT" },
      304,
    ],
    [
      "obsolete asctime dates are understood",
      { "If-Modified-Since": "Sun Nov  6 08:49:37 1994" },
      304,
    ],
  ];
  for (const method of ["GET", "HEAD"]) {
    for (const [name, headers, expected] of cases) {
      await t.step(`${method}: ${name} → ${expected}`, async () => {
        const app = resource(validators);
        const r = await app.fetch(
          new Request("http://x.test/", { method, headers }),
        );
        assert.equal(r.status, expected);
        await r.body?.cancel();
      });
    }
  }
});

Deno.test("conditional() makes a 304 without body or representation headers", async () => {
  const closed: string[] = [];
  const fetch = compose(conditional())(() =>
    Promise.resolve(
      new Response("body", {
        headers: {
          ETag: '"1"',
          "Cache-Control": "max-age=60",
          Vary: "Accept",
          "Content-Language": "en",
          "Set-Cookie": "a=1",
        },
      }).onClose(() => closed.push("closed")),
    )
  );
  const r = await fetch(
    new Request("http://x.test/", { headers: { "If-None-Match": '"1"' } }),
  );
  assert.equal(r.status, 304);
  assert.equal(r.body, null);
  for (const gone of ["content-type", "content-length", "content-language"]) {
    assert.equal(r.headers.get(gone), null, gone);
  }
  assert.equal(r.headers.get("etag"), '"1"');
  assert.equal(r.headers.get("cache-control"), "max-age=60");
  assert.equal(r.headers.get("vary"), "Accept");
  assert.equal(r.headers.get("set-cookie"), "a=1");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(closed, ["closed"]);
});

Deno.test("conditional() leaves answers that are not 2xx alone", async () => {
  const app = resource({ ETag: '"v"' }, 404);
  const r = await app.fetch(
    new Request("http://x.test/", { headers: { "If-None-Match": "*" } }),
  );
  assert.equal(r.status, 404);
  assert.equal(await r.text(), "the content");
});

Deno.test("conditional() passes requests without preconditions straight through", async () => {
  const response = new Response("x");
  const fetch = compose(conditional())(() => Promise.resolve(response));
  assert.equal(await fetch(new Request("http://x.test/")), response);
});

/** A document with PUT and DELETE, behind conditional(). */
function documentApp() {
  let doc: { rev: number; text: string } | undefined = { rev: 1, text: "v1" };
  let writes = 0;
  const app = new DispatcherApp();
  app.match("/doc", {
    GET: () =>
      doc
        ? new Response(doc.text, {
          headers: { ETag: `"${doc.rev}"`, "Last-Modified": LAST_MODIFIED },
        })
        : Response.notFound(),
    PUT: async (request) => {
      writes++;
      doc = { rev: (doc?.rev ?? 0) + 1, text: await request.text() };
      return new Response(null, { status: 204 });
    },
    DELETE: () => {
      writes++;
      doc = undefined;
      return new Response(null, { status: 204 });
    },
  });
  const client = new TestApp({ fetch: compose(conditional())(app.fetch) });
  return { client, writes: () => writes, doc: () => doc };
}

Deno.test("conditional() checks state-changing requests before they run", async (t) => {
  await t.step("PUT with a current If-Match runs, with its body", async () => {
    const d = documentApp();
    const r = await d.client.put("/doc", {
      body: "v2",
      headers: { "If-Match": '"1"' },
    });
    assert.equal(r.status, 204);
    assert.deepEqual(d.doc(), { rev: 2, text: "v2" });
  });
  await t.step("PUT with a stale If-Match is 412 and never runs", async () => {
    const d = documentApp();
    await d.client.put("/doc", { body: "v2", headers: { "If-Match": '"1"' } });
    const r = await d.client.put("/doc", {
      body: "v3",
      headers: { "If-Match": '"1"' },
    });
    assert.equal(r.status, 412);
    assert.equal(d.writes(), 1);
    assert.equal(d.doc()?.text, "v2");
  });
  await t.step(
    "PUT with If-None-Match: * (create only) is 412 when it exists",
    async () => {
      const d = documentApp();
      const r = await d.client.put("/doc", {
        body: "new",
        headers: { "If-None-Match": "*" },
      });
      assert.equal(r.status, 412);
      assert.equal(d.writes(), 0);
    },
  );
  await t.step(
    "PUT with If-None-Match: * creates when it does not exist",
    async () => {
      const d = documentApp();
      await d.client.delete("/doc");
      const r = await d.client.put("/doc", {
        body: "new",
        headers: { "If-None-Match": "*" },
      });
      assert.equal(r.status, 204);
      assert.equal(d.doc()?.text, "new");
    },
  );
  await t.step(
    "DELETE with If-Match: * is 412 when there is nothing",
    async () => {
      const d = documentApp();
      await d.client.delete("/doc");
      const r = await d.client.delete("/doc", { headers: { "If-Match": "*" } });
      assert.equal(r.status, 412);
      assert.equal(d.writes(), 1);
    },
  );
  await t.step("PUT with a failing If-Unmodified-Since is 412", async () => {
    const d = documentApp();
    const r = await d.client.put("/doc", {
      body: "v2",
      headers: { "If-Unmodified-Since": EARLIER },
    });
    assert.equal(r.status, 412);
    assert.equal(d.writes(), 0);
  });
});

Deno.test("withEtag() answers 304 and 412 without running the handler", async (t) => {
  let rev = 1;
  let runs = 0;
  const app = new DispatcherApp();
  app.match("/item/<id:int>", {
    GET: (_request, { id }) => {
      runs++;
      return new Response(`item ${id} rev ${rev}`);
    },
    PUT: () => {
      runs++;
      rev++;
      return new Response(null, { status: 204 });
    },
    POST: () => {
      runs++;
      return new Response("posted");
    },
  }, { decorators: [withEtag((_request, { id }) => `${id}.${rev}`)] });
  app.match("/missing", "GET", () => Response.notFound(), {
    decorators: [withEtag(() => "x")],
  });
  app.match("/none", "GET", () => new Response("no version"), {
    decorators: [withEtag(() => undefined)],
  });
  app.match("/weak", "GET", () => new Response("w"), {
    decorators: [withEtag(() => 5, { weak: true })],
  });
  const client = new TestApp(app);

  await t.step("GET gets an ETag", async () => {
    const r = await client.get("/item/7");
    assert.equal(r.getHeader("etag"), '"7.1"');
    assert.equal(runs, 1);
  });
  await t.step("a matching If-None-Match is 304, handler not run", async () => {
    const r = await client.get("/item/7", {
      headers: { "If-None-Match": '"7.1"' },
    });
    assert.equal(r.status, 304);
    assert.equal(r.getHeader("etag"), '"7.1"');
    assert.equal(r.getHeader("content-type"), undefined);
    assert.equal(r.text, "");
    assert.equal(runs, 1);
  });
  await t.step("HEAD too", async () => {
    const r = await client.head("/item/7", {
      headers: { "If-None-Match": '"7.1"' },
    });
    assert.equal(r.status, 304);
    assert.equal(runs, 1);
  });
  await t.step(
    "PUT with the current tag runs; its answer gets no stale ETag",
    async () => {
      const r = await client.put("/item/7", {
        headers: { "If-Match": '"7.1"' },
      });
      assert.equal(r.status, 204);
      assert.equal(r.getHeader("etag"), undefined);
      assert.equal(runs, 2);
    },
  );
  await t.step("PUT with the old tag is 412, handler not run", async () => {
    const r = await client.put("/item/7", { headers: { "If-Match": '"7.1"' } });
    assert.equal(r.status, 412);
    assert.equal(runs, 2);
  });
  await t.step("POST answers get no ETag", async () => {
    const r = await client.post("/item/7");
    assert.equal(r.getHeader("etag"), undefined);
  });
  await t.step("a 404 gets no ETag", async () => {
    assert.equal((await client.get("/missing")).getHeader("etag"), undefined);
  });
  await t.step("no version, no ETag", async () => {
    const r = await client.get("/none", { headers: { "If-None-Match": "*" } });
    assert.equal(r.status, 200);
    assert.equal(r.getHeader("etag"), undefined);
  });
  await t.step("weak tags match If-None-Match", async () => {
    assert.equal((await client.get("/weak")).getHeader("etag"), 'W/"5"');
    const r = await client.get("/weak", {
      headers: { "If-None-Match": '"5"' },
    });
    assert.equal(r.status, 304);
  });
});

Deno.test("noCache() marks answers as not to be kept", async (t) => {
  const expected = {
    "cache-control": "no-cache, no-store, must-revalidate",
    pragma: "no-cache",
    expires: "Mon, 26 Jul 1997 05:00:00 GMT",
  };
  const cases: [string, () => globalThis.Response][] = [
    ["a Pesto response", () => new Response("secret", { status: 201 })],
    [
      "a web response with immutable headers",
      () => globalThis.Response.redirect("http://x.test/", 302),
    ],
    [
      "a response with Cache-Control already",
      () =>
        new Response("secret", {
          status: 201,
          headers: { "Cache-Control": "max-age=600" },
        }),
    ],
  ];
  for (const [name, make] of cases) {
    await t.step(name, async () => {
      const app = new DispatcherApp();
      app.match("/", "GET", noCache(make));
      const r = await new TestApp(app).get("/");
      for (const [header, value] of Object.entries(expected)) {
        assert.equal(r.getHeader(header), value, header);
      }
      assert.equal(r.status, make().status);
    });
  }
});
