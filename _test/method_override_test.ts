// methodOverride(): an HTML form's POST routed as PUT, PATCH or DELETE, the
// body still readable by the handler.
import assert from "node:assert/strict";
import { z } from "zod";
import {
  compose,
  DispatcherApp,
  FileUpload,
  methodOverride,
  type MethodOverrideOptions,
  mount,
  type Request,
  Response,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";

/**
 * An app with a handler per method on `/notes/<id:int>` that answers with
 * the method, the id and what it reads of the form.
 */
function notes(): DispatcherApp {
  const app = new DispatcherApp();
  const answer = async (request: Request, id: number) => {
    const form = await request.form();
    const fields = [...form].map(([k, v]) =>
      `${k}=${typeof v === "string" ? v : `file:${v.filename}`}`
    );
    return new Response(`${request.method} ${id} ${fields.join("&")}`);
  };
  app.match("/notes/<id:int>", {
    GET: (request, { id }) => answer(request, id),
    POST: (request, { id }) => answer(request, id),
    PUT: (request, { id }) => answer(request, id),
    PATCH: (request, { id }) => answer(request, id),
    DELETE: (request, { id }) => answer(request, id),
  });
  app.match("/get-post", ["GET", "POST"], (r) => new Response(r.method));
  return app;
}

function client(options?: MethodOverrideOptions): TestApp {
  return new TestApp(compose(methodOverride(options))(notes()));
}

Deno.test("methodOverride() routes a urlencoded POST form as PUT, PATCH or DELETE, its body readable", async (t) => {
  const c = client();
  for (const method of ["PUT", "PATCH", "DELETE"]) {
    await t.step(method, async () => {
      const r = await c.post("/notes/7", {
        form: [["title", "Toast"], ["_method", method], ["tag", "a"]],
      });
      assert.equal(r.status, 200);
      assert.equal(r.text, `${method} 7 title=Toast&_method=${method}&tag=a`);
    });
  }
});

Deno.test("methodOverride() routes a multipart POST form with a file, the file readable", async (t) => {
  const app = new DispatcherApp();
  app.match("/notes/<id:int>", ["PUT", "DELETE"], async (request, { id }) => {
    const { title, photo } = await request.validate(z.object({
      _method: z.string(),
      title: z.string(),
      photo: z.instanceof(FileUpload),
    }));
    const bytes = await photo.bytes();
    return new Response(
      `${request.method} ${id} ${title} ${photo.filename} ${bytes.byteLength} ${
        bytes[0]
      }`,
    );
  });
  const c = new TestApp(compose(methodOverride())(app));
  for (const method of ["put", "delete"]) {
    await t.step(
      `${method}, a small file and one spooled to disk`,
      async () => {
        for (const size of [5, 200 * 1024]) {
          const r = await c.postMultipart("/notes/3", {
            fields: { _method: method, title: "Toast" },
            files: [{
              field: "photo",
              filename: "toast.jpg",
              contentType: "image/jpeg",
              content: new Uint8Array(size).fill(42),
            }],
          });
          assert.equal(r.status, 200, r.text);
          assert.equal(
            r.text,
            `${method.toUpperCase()} 3 Toast toast.jpg ${size} 42`,
          );
        }
      },
    );
  }
});

Deno.test("methodOverride() takes the X-HTTP-Method-Override header, and reads no body for it", async () => {
  const app = new DispatcherApp();
  app.match(
    "/api/<id:int>",
    "PATCH",
    async (request, { id }) =>
      Response.json({ id, method: request.method, body: await request.json() }),
  );
  const c = new TestApp(compose(methodOverride())(app));
  const r = await c.post("/api/5", {
    json: { title: "x" },
    headers: { "X-HTTP-Method-Override": "PATCH" },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { id: 5, method: "PATCH", body: { title: "x" } });
  // A raw body of another type is handed on unread.
  const raw = await c.post("/api/6", {
    body: '{"raw":true}',
    headers: {
      "x-http-method-override": "patch",
      "content-type": "text/plain",
    },
  });
  assert.deepEqual(raw.json(), { id: 6, method: "PATCH", body: { raw: true } });
});

Deno.test("methodOverride() is case-insensitive in the value, and trims it", async () => {
  const c = client();
  for (const value of ["put", "Put", " PUT ", "pUt"]) {
    const r = await c.post("/notes/1", { form: { _method: value } });
    assert.match(r.text, /^PUT 1 /, value);
  }
  const header = await c.post("/notes/1", {
    form: { a: "1" },
    headers: { "x-HTTP-method-OVERRIDE": "dElEtE" },
  });
  assert.equal(header.text, "DELETE 1 a=1");
});

Deno.test("methodOverride() ignores other methods than PUT, PATCH and DELETE", async (t) => {
  const c = client();
  for (
    const value of [
      "CONNECT",
      "GET",
      "HEAD",
      "POST",
      "OPTIONS",
      "TRACE",
      "PUT,DELETE",
      "",
      "PUTX",
    ]
  ) {
    await t.step(`_method=${value}`, async () => {
      const r = await c.post("/notes/2", { form: { _method: value } });
      assert.equal(r.text, `POST 2 _method=${value}`);
    });
    await t.step(`header ${value}`, async () => {
      const r = await c.post("/notes/2", {
        form: { a: "1" },
        headers: { "x-http-method-override": value },
      });
      assert.equal(r.text, "POST 2 a=1");
    });
  }
});

Deno.test("methodOverride() changes only POST: a GET with _method stays a GET", async (t) => {
  const c = client();
  await t.step("query", async () => {
    const r = await c.get("/notes/4?_method=DELETE");
    assert.equal(r.text, "GET 4 _method=DELETE");
  });
  await t.step("header", async () => {
    const r = await c.get("/notes/4", {
      headers: { "x-http-method-override": "DELETE" },
    });
    assert.equal(r.text, "GET 4 ");
  });
  await t.step("a PUT does not become a DELETE", async () => {
    const r = await c.put("/notes/4", { form: { _method: "DELETE" } });
    assert.equal(r.text, "PUT 4 _method=DELETE");
  });
});

Deno.test("methodOverride() reads the field from the body only: not the query, not JSON", async () => {
  const c = client();
  const query = await c.post("/notes/8?_method=DELETE", { form: { a: "1" } });
  assert.equal(query.text, "POST 8 a=1");
  const app = new DispatcherApp();
  app.match("/j", "POST", async (request) => {
    return new Response(`${request.method} ${await request.text()}`);
  });
  const json = await new TestApp(compose(methodOverride())(app)).post("/j", {
    json: { _method: "DELETE" },
  });
  assert.equal(json.text, 'POST {"_method":"DELETE"}');
});

Deno.test("methodOverride() leaves a body that is not a form unread", async () => {
  const app = new DispatcherApp();
  app.match("/raw", "POST", async (request) => {
    return new Response(`${request.method} ${(await request.bytes()).length}`);
  });
  // Read as a form, this body would break the middleware's limit.
  const c = new TestApp(
    compose(methodOverride({ limits: { maxUrlencodedSize: 10 } }))(app),
  );
  for (const type of [undefined, "application/octet-stream", "text/plain"]) {
    const r = await c.request("POST", "/raw", {
      // Bytes: no Content-Type of their own.
      body: new TextEncoder().encode("_method=PUT&" + "x".repeat(100)),
      headers: type === undefined ? {} : { "content-type": type },
    });
    assert.equal(r.text, "POST 112", String(type));
  }
});

Deno.test("methodOverride() takes other field and header names", async () => {
  const c = client({ field: "verb", header: "X-Method" });
  assert.equal(
    (await c.post("/notes/9", { form: { verb: "patch" } })).text,
    "PATCH 9 verb=patch",
  );
  assert.equal(
    (await c.post("/notes/9", { form: { _method: "patch" } })).text,
    "POST 9 _method=patch",
  );
  assert.equal(
    (await c.post("/notes/9", { form: {}, headers: { "x-method": "put" } }))
      .text,
    "PUT 9 ",
  );
  assert.equal(
    (await c.post("/notes/9", {
      form: {},
      headers: { "x-http-method-override": "put" },
    })).text,
    "POST 9 ",
  );
});

Deno.test("methodOverride() gives the new method's 405 where it is not routed", async () => {
  const c = client();
  const r = await c.post("/get-post", { form: { _method: "DELETE" } });
  assert.equal(r.status, 405);
  assert.equal(r.getHeader("allow"), "GET, HEAD, POST");
  assert.equal((await c.post("/get-post", { form: {} })).text, "POST");
});

Deno.test("methodOverride() answers a body it cannot read with the error", async () => {
  const c = client({ limits: { maxUrlencodedSize: 10 } });
  const r = await c.post("/notes/1", {
    form: { _method: "PUT", text: "x".repeat(100) },
  });
  assert.equal(r.status, 413);
  assert.match(r.text, /maxUrlencodedSize/);
  const bad = await c.request("POST", "/notes/1", {
    body: "no boundary",
    headers: { "content-type": "multipart/form-data" },
  });
  assert.equal(bad.status, 400);
});

Deno.test("methodOverride() works inside and outside mount, the form still read from the body", async () => {
  const inside = mount({ "/app": compose(methodOverride())(notes()) });
  const outside = compose(methodOverride())(mount({ "/app": notes() }));
  for (const fetch of [inside, outside]) {
    const r = await new TestApp({ fetch }).post("/app/notes/5", {
      form: { _method: "delete", a: "1" },
    });
    assert.equal(r.text, "DELETE 5 _method=delete&a=1");
  }
});
