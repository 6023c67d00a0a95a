// request.validate() with real Standard Schema libraries (zod 4, valibot 1),
// and the 422 ValidationError it throws, through a DispatcherApp and TestApp.
import assert from "node:assert/strict";
import { z } from "zod";
import * as v from "valibot";
import {
  DispatcherApp,
  FileUpload,
  HttpError,
  Request,
  Response,
  type StandardSchemaV1,
  ValidationError,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";

/** A schema that passes any value through, to see what validate() gives. */
const identity: StandardSchemaV1<unknown, unknown> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) => ({ value }),
  },
};

/** An app whose route answers with what the schema gave, as JSON. */
function echo(
  schema: StandardSchemaV1,
  options?: Parameters<Request["validate"]>[1],
): TestApp {
  const app = new DispatcherApp();
  app.match(
    "/e",
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    async (request) =>
      Response.json(describe(await request.validate(schema, options))),
  );
  return new TestApp(app);
}

/** FileUploads as `{ file, text }`, the rest as it is. */
function describe(value: unknown): unknown {
  if (value instanceof FileUpload) {
    return { file: value.filename, type: value.contentType };
  }
  if (Array.isArray(value)) return value.map(describe);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, describe(v)]),
    );
  }
  return value;
}

Deno.test("request.validate() gives a query as a plain object: one value, or an array for a repeated key", async () => {
  const client = echo(identity);
  const r = await client.get("/e?a=1&tag=x&tag=y&empty=&tag=z");
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { a: "1", tag: ["x", "y", "z"], empty: "" });
  assert.deepEqual((await client.get("/e")).json(), {});
});

Deno.test("request.validate() reads the query for GET, HEAD and DELETE, whatever the body", async (t) => {
  const seen: unknown[] = [];
  const app = new DispatcherApp();
  app.match("/e", ["GET", "DELETE"], async (request) => {
    seen.push(await request.validate(identity));
    return new Response("ok");
  });
  const client = new TestApp(app);
  await t.step("GET", async () => {
    await client.get("/e?a=1");
    assert.deepEqual(seen.pop(), { a: "1" });
  });
  await t.step("HEAD", async () => {
    await client.head("/e?a=2");
    assert.deepEqual(seen.pop(), { a: "2" });
  });
  await t.step("DELETE with a JSON body", async () => {
    await client.delete("/e?a=3", { json: { a: "body" } });
    assert.deepEqual(seen.pop(), { a: "3" });
  });
});

Deno.test("request.validate() reads a urlencoded body for POST, PUT and PATCH", async () => {
  const Note = z.object({
    title: z.string().min(1),
    tags: z.array(z.string()),
    pinned: z.literal("on").optional(),
  });
  const client = echo(Note);
  for (const method of ["post", "put", "patch"] as const) {
    const r = await client[method]("/e?title=fromquery", {
      form: [["title", "Toast"], ["tags", "a"], ["tags", "b"], [
        "pinned",
        "on",
      ]],
    });
    assert.equal(r.status, 200, method);
    assert.deepEqual(r.json(), {
      title: "Toast",
      tags: ["a", "b"],
      pinned: "on",
    });
  }
});

Deno.test("request.validate() reads a multipart body: fields as strings, files as FileUploads", async () => {
  const Upload = v.object({
    title: v.string(),
    photo: v.instance(FileUpload),
    extra: v.array(v.instance(FileUpload)),
  });
  const client = echo(Upload);
  const r = await client.postMultipart("/e", {
    fields: { title: "Toast" },
    files: [
      {
        field: "photo",
        filename: "toast.jpg",
        contentType: "image/jpeg",
        content: "jpg",
      },
      {
        field: "extra",
        filename: "a.txt",
        contentType: "text/plain",
        content: "a",
      },
      {
        field: "extra",
        filename: "b.txt",
        contentType: "text/plain",
        content: "b",
      },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json(), {
    title: "Toast",
    photo: { file: "toast.jpg", type: "image/jpeg" },
    extra: [
      { file: "a.txt", type: "text/plain" },
      { file: "b.txt", type: "text/plain" },
    ],
  });
});

Deno.test("request.validate() gives the files themselves, readable in the handler", async () => {
  const app = new DispatcherApp();
  app.match("/up", "POST", async (request) => {
    const { doc } = await request.validate(z.object({
      doc: z.instanceof(FileUpload),
    }));
    return new Response(`${doc.filename}: ${await doc.text()}`);
  });
  const r = await new TestApp(app).postMultipart("/up", {
    files: [{ field: "doc", filename: "n.txt", content: "hello" }],
  });
  assert.equal(r.text, "n.txt: hello");
});

Deno.test("request.validate() parses a JSON body, application/json or any +json type", async (t) => {
  const Order = z.object({
    items: z.array(z.object({ sku: z.string(), qty: z.number().int() })),
  });
  const client = echo(Order);
  const data = { items: [{ sku: "a", qty: 2 }] };
  await t.step("application/json", async () => {
    const r = await client.post("/e", { json: data });
    assert.deepEqual(r.json(), data);
  });
  for (
    const type of [
      "application/vnd.api+json",
      "Application/JSON; charset=utf-8",
    ]
  ) {
    await t.step(type, async () => {
      const r = await client.put("/e", {
        body: JSON.stringify(data),
        headers: { "content-type": type },
      });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json(), data);
    });
  }
  await t.step("malformed JSON is a 400", async () => {
    const r = await client.post("/e", {
      body: "{",
      headers: { "content-type": "application/json" },
    });
    assert.equal(r.status, 400);
  });
});

Deno.test("request.validate() takes the source from options.from", async (t) => {
  await t.step('"query" on a POST with a form body', async () => {
    const r = await echo(identity, { from: "query" }).post("/e?q=1", {
      form: { q: "2" },
    });
    assert.deepEqual(r.json(), { q: "1" });
  });
  await t.step('"form" on a POST with a JSON type reads no JSON', async () => {
    const r = await echo(identity, { from: "form" }).post("/e?q=1", {
      json: { q: "2" },
    });
    assert.deepEqual(r.json(), {});
  });
  await t.step('"json" on a body without a JSON type', async () => {
    const r = await echo(identity, { from: "json" }).post("/e", {
      body: '{"q":3}',
      headers: { "content-type": "text/plain" },
    });
    assert.deepEqual(r.json(), { q: 3 });
  });
  await t.step('"json" on a GET reads its body', async () => {
    const r = await echo(identity, { from: "json" }).request("PATCH", "/e", {
      body: "[1]",
    });
    assert.deepEqual(r.json(), [1]);
  });
  await t.step("an unknown source is a TypeError", async () => {
    const request = new Request(new globalThis.Request("http://x.test/"));
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      request.validate(identity, { from: "cookies" as any }),
      (error: unknown) =>
        error instanceof TypeError && /"cookies"/.test(error.message),
    );
  });
});

Deno.test("request.validate() keeps every key an own property, __proto__ included", async () => {
  const raw = new globalThis.Request(
    "http://x.test/?__proto__=x&constructor=y&toString=z",
  );
  const out = await new Request(raw).validate(identity) as Record<
    string,
    unknown
  >;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ["__proto__", "constructor", "toString"]);
  assert.equal(Object.getOwnPropertyDescriptor(out, "__proto__")?.value, "x");
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

Deno.test("request.validate() keeps __proto__ an own property where the runtime has the __proto__ setter", async () => {
  // Deno removes Object.prototype.__proto__; other runtimes, and Deno with
  // --unstable-unsafe-proto, have it, and a plain assignment of an object
  // (a file) under "__proto__" would set the prototype instead.
  const mod = new URL("../mod.ts", import.meta.url).href;
  const code = `
    import { Request } from ${JSON.stringify(mod)};
    const body = new FormData();
    body.append("__proto__", new File(["x"], "evil.txt"));
    body.append("a", "1");
    const request = new Request(new globalThis.Request("http://x.test/", { method: "POST", body }));
    const identity = { "~standard": { version: 1, vendor: "t", validate: (value) => ({ value }) } };
    const out = await request.validate(identity);
    console.log(JSON.stringify({
      setter: typeof Object.getOwnPropertyDescriptor(Object.prototype, "__proto__")?.set,
      keys: Object.keys(out),
      plain: Object.getPrototypeOf(out) === Object.prototype,
      file: Object.getOwnPropertyDescriptor(out, "__proto__")?.value?.filename,
    }));`;
  const { code: status, stdout, stderr } = await new Deno.Command(
    Deno.execPath(),
    {
      args: ["eval", "--unstable-unsafe-proto", "--no-check", code],
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  assert.equal(status, 0, new TextDecoder().decode(stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), {
    setter: "function",
    keys: ["__proto__", "a"],
    plain: true,
    file: "evil.txt",
  });
});

Deno.test("request.validate() awaits asynchronous schemas", async (t) => {
  const taken = new Set(["ada"]);
  const Signup = z.object({
    user: z.string().refine(async (name) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return !taken.has(name);
    }, "Already taken"),
  });
  const client = echo(Signup);
  await t.step("passes", async () => {
    const r = await client.post("/e", { form: { user: "grace" } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { user: "grace" });
  });
  await t.step("fails with the refinement's message and path", async () => {
    const r = await client.post("/e", {
      form: { user: "ada" },
      headers: { accept: "application/json" },
    });
    assert.equal(r.status, 422);
    assert.deepEqual(r.json(), {
      error: "Validation failed",
      issues: [{ message: "Already taken", path: ["user"] }],
    });
  });
});

Deno.test("request.validate() throws a ValidationError (422) with the schema's issues and paths", async (t) => {
  const Order = z.object({
    name: z.string().min(1, "Name required"),
    items: z.array(z.object({ qty: z.number() })),
  });
  const json = { name: "", items: [{ qty: 1 }, { qty: "x" }] };
  await t.step("zod", async () => {
    const request = new Request(
      new globalThis.Request("http://x.test/", {
        method: "POST",
        body: JSON.stringify(json),
        headers: { "content-type": "application/json" },
      }),
    );
    const error = await request.validate(Order).then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(error instanceof ValidationError);
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 422);
    assert.deepEqual(error.issues.map((i) => i.path), [
      ["name"],
      ["items", 1, "qty"],
    ]);
    assert.equal(error.issues[0].message, "Name required");
  });
  await t.step("valibot (whose path steps are objects)", async () => {
    const Schema = v.object({
      name: v.pipe(v.string(), v.minLength(1, "Name required")),
      items: v.array(v.object({ qty: v.number() })),
    });
    const request = new Request(
      new globalThis.Request("http://x.test/", {
        method: "POST",
        body: JSON.stringify(json),
        headers: { "content-type": "application/json" },
      }),
    );
    const error = await request.validate(Schema).then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues.map((i) => i.path), [
      ["name"],
      ["items", 1, "qty"],
    ]);
    assert.equal(error.issues[0].message, "Name required");
  });
  await t.step("an issue without a path", async () => {
    const request = new Request(new globalThis.Request("http://x.test/?a=1"));
    const error = await request.validate(
      z.object({ a: z.string() }).refine(() => false, "Never"),
    ).then(() => assert.fail("no error"), (e) => e);
    assert.deepEqual(error.issues, [{ message: "Never", path: [] }]);
  });
});

Deno.test("ValidationError answers JSON to clients that prefer it, plain text to the others", async (t) => {
  const Search = z.object({ q: z.string().min(2, "Too short") });
  const client = echo(Search);
  const cases: [string, string | undefined, "json" | "text"][] = [
    ["no Accept", undefined, "text"],
    ["*/*", "*/*", "text"],
    [
      "a browser",
      "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      "text",
    ],
    ["application/json", "application/json", "json"],
    ["axios' default", "application/json, text/plain, */*", "json"],
    ["json over text by weight", "text/plain;q=0.5, application/json", "json"],
    ["application/*", "application/*", "json"],
    ["text first", "text/plain, application/json", "text"],
    ["json refused", "application/json;q=0, */*", "text"],
    ["neither", "image/png", "text"],
  ];
  for (const [name, accept, kind] of cases) {
    await t.step(name, async () => {
      const r = await client.get("/e?q=a", {
        headers: accept === undefined ? {} : { accept },
      });
      assert.equal(r.status, 422);
      assert.equal(r.getHeader("vary"), "Accept");
      assert.equal(r.getHeader("x-content-type-options"), "nosniff");
      if (kind === "json") {
        assert.equal(r.getHeader("content-type"), "application/json");
        assert.deepEqual(r.json(), {
          error: "Validation failed",
          issues: [{ message: "Too short", path: ["q"] }],
        });
      } else {
        assert.equal(r.getHeader("content-type"), "text/plain;charset=UTF-8");
        assert.equal(r.text, "Validation failed\nq: Too short\n");
      }
    });
  }
});

Deno.test("ValidationError's text body writes paths as JavaScript does", async () => {
  const error = new ValidationError([
    { message: "A", path: ["items", 0, "qty"] },
    { message: "B", path: [{ key: "odd key" }, { key: 2 }] },
    { message: "C" },
    { message: "D", path: [Symbol("s")] },
  ]);
  const r = error.toResponse(new globalThis.Request("http://x.test/"));
  assert.equal(
    await r.text(),
    'Validation failed\nitems[0].qty: A\n["odd key"][2]: B\nC\n[Symbol(s)]: D\n',
  );
  const json = error.toResponse(
    new globalThis.Request("http://x.test/", {
      headers: { accept: "application/json" },
    }),
  );
  assert.deepEqual((await json.json()).issues, [
    { message: "A", path: ["items", 0, "qty"] },
    { message: "B", path: ["odd key", 2] },
    { message: "C" },
    { message: "D", path: ["s"] },
  ]);
});

Deno.test("ValidationError thrown by a handler negotiates with the current request", async () => {
  const app = new DispatcherApp();
  app.match("/x", "GET", () => {
    throw new ValidationError([{ message: "Nope", path: ["x"] }], {
      message: "Bad input",
      headers: { "X-Reason": "test" },
    });
  });
  const client = new TestApp(app);
  const json = await client.get("/x", {
    headers: { accept: "application/json" },
  });
  assert.equal(json.status, 422);
  assert.equal(json.getHeader("x-reason"), "test");
  assert.deepEqual(json.json(), {
    error: "Bad input",
    issues: [{ message: "Nope", path: ["x"] }],
  });
  const text = await client.get("/x");
  assert.equal(text.text, "Bad input\nx: Nope\n");
  // Made outside any request, it answers text unless given one.
  const outside = new ValidationError([{ message: "Nope" }]);
  assert.equal(
    outside.toResponse().getHeader("content-type"),
    "text/plain;charset=UTF-8",
  );
});

Deno.test("ValidationError reaches an app's errorPage with its issues", async () => {
  const app = new DispatcherApp({
    errorPage: (error) =>
      error instanceof ValidationError
        ? new Response(error.issues.map((i) => i.message).join(";"))
        : undefined,
  });
  app.match("/s", "GET", async (request) => {
    await request.validate(
      z.object({ n: z.coerce.number().int("Whole numbers only") }),
    );
    return new Response("ok");
  });
  const r = await new TestApp(app).get("/s?n=1.5");
  assert.equal(r.status, 422);
  assert.equal(r.text, "Whole numbers only");
});

Deno.test("request.validate() refuses what is not a Standard Schema", async () => {
  const request = new Request(new globalThis.Request("http://x.test/"));
  for (const schema of [{}, null, { "~standard": { version: 2 } }, z]) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      request.validate(schema as any),
      (error: unknown) =>
        error instanceof TypeError && /Standard Schema v1/.test(error.message),
    );
  }
});

Deno.test("request.validate() is typed as the schema's output", async () => {
  const app = new DispatcherApp();
  app.match("/t", "GET", async (request) => {
    const zodOut = await request.validate(
      z.object({ page: z.coerce.number(), q: z.string().optional() }),
    );
    const page: number = zodOut.page;
    const q: string | undefined = zodOut.q;
    // @ts-expect-error page is a number, not a string
    const wrong: string = zodOut.page;
    // @ts-expect-error no such key
    zodOut.missing;

    const valibotOut = await request.validate(
      v.object({ n: v.pipe(v.string(), v.transform(Number)) }),
    );
    const n: number = valibotOut.n;
    // @ts-expect-error n is a number once transformed
    const notString: string = valibotOut.n;

    const unknownOut = await request.validate(identity);
    // @ts-expect-error unknown output has no known keys
    unknownOut.x;
    return Response.json([page, q ?? null, wrong, n, notString]);
  });
  const r = await new TestApp(app).get("/t?page=2&n=3");
  assert.deepEqual(r.json(), [2, null, 2, 3, 3]);
});
