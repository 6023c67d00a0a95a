import assert from "node:assert/strict";
import {
  compose,
  DispatcherApp,
  HttpError,
  MemorySessionStore,
  sessionMiddleware,
} from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { errorPage, liveWatchers, makeFetch } from "../examples/notes.ts";
import { logInToNotes, startNotesTask } from "./_process.ts";

function csrfOf(html: string): string {
  const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(token, "the page has a CSRF field");
  return token;
}

Deno.test("examples/notes.ts: log in, add a note with a file, read it, log out", async (t) => {
  const store = new MemorySessionStore();
  const fetch = makeFetch(store);
  const ada = new TestApp({ fetch }, { followRedirects: true });

  await t.step(
    "anonymous visitors get the login form and no session",
    async () => {
      const r = await ada.get("/");
      assert.match(r.text, /Log in/);
      assert.equal(r.getHeader("set-cookie"), undefined);
      assert.equal(store.size, 0);
    },
  );
  await t.step("a wrong password is 401", async () => {
    const r = await ada.post("/login", {
      form: { user: "ada", password: "nope" },
    });
    assert.equal(r.status, 401);
    assert.equal(await ada.cookie("pesto_session"), undefined);
  });
  let csrf = "";
  await t.step("logging in starts a session", async () => {
    const r = await ada.post("/login", {
      form: { user: "ada", password: "lovelace" },
    });
    assert.equal(r.status, 200);
    assert.match(r.text, /Your notes/);
    assert.match((await ada.cookie("pesto_session"))!, /^[0-9a-f]{64}$/);
    assert.match(
      r.text,
      /<p class="flash message" role="status">Welcome, ada\.<\/p>/,
    );
    csrf = csrfOf(r.text);
  });
  await t.step("a flash message is shown once", async () => {
    const r = await ada.get("/");
    assert.match(r.text, /Your notes/);
    assert.doesNotMatch(r.text, /Welcome/);
  });
  let noteUrl = "";
  await t.step(
    "a note with an attachment is added through a multipart form",
    async () => {
      const r = await ada.postMultipart("/notes", {
        fields: { csrf, title: "Shopping", text: "basil\npine nuts" },
        files: [{
          field: "attachment",
          filename: "list café.txt",
          contentType: "text/plain",
          content: "garlic",
        }],
      });
      assert.equal(r.status, 200);
      assert.match(r.text, /basil<br>pine nuts/);
      assert.match(r.text, /list café\.txt<\/a> \(6 bytes\)/);
      assert.match(r.text, /class="flash message" role="status">Note saved\.</);
      assert.equal(r.getHeader("cache-control"), "no-store");
      noteUrl = r.url;
      const again = await ada.get(noteUrl);
      assert.doesNotMatch(again.text, /Note saved/);
      assert.equal(again.getHeader("cache-control"), "private, no-cache");
    },
  );
  await t.step("what a user types is escaped, not markup", async () => {
    const r = await ada.postMultipart("/notes", {
      fields: { csrf, title: "<script>x</script>", text: "a & b\n<b>" },
    });
    assert.equal(r.status, 200);
    assert.match(r.text, /<h1>&lt;script&gt;x&lt;\/script&gt;<\/h1>/);
    assert.match(r.text, /<p>a &amp; b<br>&lt;b&gt;<\/p>/);
    assert.doesNotMatch(r.text, /<script>x/);
    const home = await ada.get("/");
    assert.match(home.text, />&lt;script&gt;x&lt;\/script&gt;<\/a>/);
    const deleted = await ada.post(`${r.url}/delete`, { form: { csrf } });
    assert.equal(deleted.url, "http://localhost/");
    assert.match(
      deleted.text,
      /Note “&lt;script&gt;x&lt;\/script&gt;” deleted\./,
    );
    assert.equal((await ada.get(r.url)).status, 404);
  });
  await t.step(
    "a note form that does not pass is shown again, text kept, messages by the fields",
    async () => {
      const r = await ada.postMultipart("/notes", {
        fields: { csrf, title: "   ", text: "keep <this> text" },
      });
      assert.equal(r.status, 422);
      assert.match(r.text, /<h1>Your notes<\/h1>/);
      assert.match(
        r.text,
        /<input name="title"[^>]* value=" {3}" aria-invalid="true"\s*>\s*<span class="error" id="title-error">A note needs a title\.<\/span>/,
      );
      assert.match(
        r.text,
        /<textarea name="text"[^>]*>keep &lt;this&gt; text<\/textarea>/,
      );
      const long = await ada.postMultipart("/notes", {
        fields: { csrf, title: "x".repeat(201), text: "y" },
      });
      assert.equal(long.status, 422);
      assert.match(long.text, /A title has at most 200 characters\./);
      assert.match(long.text, new RegExp(`value="${"x".repeat(201)}"`));
    },
  );
  await t.step("the attachment downloads", async () => {
    const r = await ada.get(`${noteUrl}/attachment`);
    assert.equal(r.text, "garlic");
    assert.equal(r.getHeader("content-type"), "text/plain");
    assert.match(
      r.getHeader("content-disposition")!,
      /filename\*=UTF-8''list%20caf%C3%A9\.txt/,
    );
  });
  await t.step("the note page has an ETag and answers 304", async () => {
    const first = await ada.get(noteUrl);
    const etag = first.getHeader("etag")!;
    assert.ok(etag);
    const again = await ada.get(noteUrl, {
      headers: { "If-None-Match": etag },
    });
    assert.equal(again.status, 304);
  });
  await t.step("static assets come with validators", async () => {
    const css = await ada.get("/static/style.css");
    assert.equal(css.getHeader("content-type"), "text/css; charset=UTF-8");
    assert.equal(css.getHeader("cache-control"), "public, max-age=3600");
    const cached = await ada.get("/static/style.css", {
      headers: { "If-None-Match": css.getHeader("etag")! },
    });
    assert.equal(cached.status, 304);
    assert.equal(
      (await ada.get("/static/logo.svg")).getHeader("content-type"),
      "image/svg+xml",
    );
  });
  await t.step("another user cannot see the note", async () => {
    const demo = new TestApp({ fetch }, { followRedirects: true });
    await demo.post("/login", { form: { user: "demo", password: "pesto" } });
    assert.equal((await demo.get(noteUrl)).status, 404);
    assert.equal((await demo.get(`${noteUrl}/attachment`)).status, 404);
  });
  await t.step("a form without the CSRF token is refused", async () => {
    const r = await ada.postMultipart("/notes", {
      fields: { title: "forged" },
    });
    assert.equal(r.status, 403);
  });
  await t.step("an attachment over the limit is 413", async () => {
    const r = await ada.postMultipart("/notes", {
      fields: { csrf, title: "big" },
      files: [{
        field: "attachment",
        filename: "big.bin",
        content: new Uint8Array(1_100_000),
      }],
    });
    assert.equal(r.status, 413);
    assert.match(r.text, /<h1>Too Large<\/h1>/);
    assert.match(r.text, /That file is too large: the limit is 1 MB\./);
    assert.match(r.text, /<a class="back" href="http:\/\/localhost\/">/);
  });
  await t.step("logging out ends the session", async () => {
    const before = await ada.cookie("pesto_session");
    const r = await ada.post("/logout", { form: { csrf } });
    assert.match(r.text, /Log in/);
    assert.match(
      r.text,
      /class="flash message" role="status">You are logged out\./,
    );
    // The flash is kept in a new session; the old one is gone.
    assert.notEqual(await ada.cookie("pesto_session"), before);
    const thief = new TestApp({ fetch });
    await thief.setCookie(`pesto_session=${before}`);
    assert.match((await thief.get("/")).text, /Log in/);
    assert.doesNotMatch((await ada.get("/")).text, /logged out/);
    assert.equal((await ada.get(noteUrl)).status, 404);
  });
});

Deno.test("deno task notes, as the README says: a 100 KB attachment is kept, one over 1 MB is 413", async () => {
  const notes = await startNotesTask();
  const base = notes.base;
  try {
    const { cookie, csrf } = await logInToNotes(base);
    const photo = new Uint8Array(100_000).map((_, i) => (i * 31) % 256);
    const post = (content: Uint8Array) => {
      const form = new FormData();
      form.append("csrf", csrf);
      form.append("title", "Holiday");
      form.append(
        "attachment",
        new File([content as BlobPart], "photo.png", { type: "image/png" }),
      );
      return fetch(`${base}/notes`, {
        method: "POST",
        body: form,
        headers: { cookie },
        redirect: "manual",
      });
    };
    const added = await post(photo);
    await added.body?.cancel();
    assert.equal(added.status, 303, notes.errors());
    const note = new URL(added.headers.get("location")!, base).href;
    const page = await (await fetch(note, { headers: { cookie } })).text();
    assert.match(page, /photo\.png<\/a> \(100000 bytes\)/);
    const download = await fetch(`${note}/attachment`, { headers: { cookie } });
    assert.equal(download.headers.get("content-type"), "image/png");
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), photo);
    const big = await post(new Uint8Array(1_100_000));
    await big.body?.cancel();
    assert.equal(big.status, 413);
  } finally {
    await notes.stop();
  }
  assert.doesNotMatch(notes.errors(), /Error while handling|maxFileMemorySize/);
});

Deno.test("examples/notes.ts: error pages in the app's layout", async (t) => {
  const fetch = makeFetch(new MemorySessionStore());
  const client = new TestApp({ fetch });
  const inLayout = (text: string, title: string, message: RegExp) => {
    assert.match(
      text,
      /<link rel="stylesheet" href="[^"]*\/static\/style\.css">/,
    );
    assert.match(text, new RegExp(`<h1>${title}</h1>`));
    assert.match(text, message);
    assert.match(
      text,
      /<a class="back" href="http:\/\/localhost\/">Back to your notes<\/a>/,
    );
  };
  await t.step("404: no such route, or no such note", async () => {
    for (const path of ["/nowhere", "/notes/999", "/notes/999/attachment"]) {
      const r = await client.get(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.getHeader("content-type"), "text/html; charset=UTF-8");
      inLayout(r.text, "Not Found", /There is no such page\./);
    }
  });
  await t.step("405 keeps its Allow", async () => {
    const r = await client.get("/login");
    assert.equal(r.status, 405);
    assert.match(r.getHeader("allow")!, /POST/);
    inLayout(r.text, "Method Not Allowed", /cannot be used that way/);
  });
  await t.step("400: a form the server cannot read", async () => {
    const r = await client.post("/login", {
      body: "--x\r\nbroken",
      headers: { "Content-Type": "multipart/form-data; boundary=x" },
    });
    assert.equal(r.status, 400);
    inLayout(r.text, "Bad Request", /could not understand/);
  });
  await t.step("403 thrown by a handler", async () => {
    const r = await client.get("/notes/events");
    assert.equal(r.status, 403);
    inLayout(r.text, "Forbidden", /You are not allowed to do that\./);
  });
  await t.step("500, with the stack in the log only", async () => {
    // The notes app's error page on an app whose handler throws.
    const broken = new DispatcherApp({ errorPage, onError: () => {} });
    broken.match("/", "GET", () => {
      throw new Error("secret detail");
    });
    broken.match("/teapot", "GET", () => {
      throw new HttpError(503, "Down for maintenance", {
        headers: { "Retry-After": "60" },
      });
    });
    const b = new TestApp({
      fetch: compose(sessionMiddleware())(broken),
    });
    const r = await b.get("/");
    assert.equal(r.status, 500);
    inLayout(
      r.text,
      "Internal Server Error",
      /Something went wrong on our side\./,
    );
    assert.doesNotMatch(r.text, /secret detail/);
    const down = await b.get("/teapot");
    assert.equal(down.status, 503);
    assert.equal(down.getHeader("retry-after"), "60");
    inLayout(down.text, "Sorry", /Something went wrong on our side\./);
  });
});

Deno.test("examples/notes.ts: the security stack", async (t) => {
  const fetch = makeFetch(new MemorySessionStore());
  await t.step("secure headers on every answer", async () => {
    const client = new TestApp({ fetch });
    for (const path of ["/", "/nowhere", "/static/style.css"]) {
      const r = await client.get(path);
      assert.equal(r.getHeader("x-frame-options"), "SAMEORIGIN", path);
      assert.equal(r.getHeader("x-content-type-options"), "nosniff", path);
      assert.equal(r.getHeader("referrer-policy"), "no-referrer", path);
    }
  });
  await t.step("pages are compressed for clients that accept it", async () => {
    const client = new TestApp({ fetch }, { followRedirects: true });
    await client.post("/login", { form: { user: "demo", password: "pesto" } });
    const r = await client.get("/", { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(r.getHeader("content-encoding"), "gzip");
    const page = await new Response(
      new Blob([r.bytes as BlobPart]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).text();
    assert.match(page, /<h1>Your notes<\/h1>/);
  });
  await t.step("another site's form posts are refused", async () => {
    const client = new TestApp({ fetch }, { followRedirects: true });
    await client.post("/login", {
      form: { user: "demo", password: "pesto" },
      headers: { "Sec-Fetch-Site": "same-origin" },
    });
    const csrf = csrfOf((await client.get("/")).text);
    for (const path of ["/notes", "/logout", "/login", "/notes/1/delete"]) {
      const r = await client.post(path, {
        form: { csrf, title: "forged", user: "demo", password: "pesto" },
        headers: { "Sec-Fetch-Site": "cross-site" },
      });
      assert.equal(r.status, 403, path);
    }
    const foreign = await client.post("/notes", {
      form: { csrf, title: "forged" },
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(foreign.status, 403);
    // The same form from the site itself passes.
    const own = await client.post("/notes", {
      form: { csrf, title: "mine" },
      headers: { "Sec-Fetch-Site": "same-origin" },
    });
    assert.equal(own.status, 200);
    assert.match(own.text, /<h1>mine<\/h1>/);
  });
  await t.step("logging in is limited to 10 tries a minute", async () => {
    const client = new TestApp({ fetch }, { remoteAddr: "203.0.113.7" });
    for (let i = 0; i < 10; i++) {
      const r = await client.post("/login", {
        form: { user: "demo", password: `guess ${i}` },
      });
      assert.equal(r.status, 401);
    }
    const r = await client.post("/login", {
      form: { user: "demo", password: "pesto" },
    });
    assert.equal(r.status, 429);
    assert.ok(Number(r.getHeader("retry-after")) > 0);
    assert.match(r.text, /Too many tries: wait \d+ seconds\./);
    // Another client is not held back.
    const other = new TestApp({ fetch }, { remoteAddr: "203.0.113.8" });
    const ok = await other.post("/login", {
      form: { user: "demo", password: "pesto" },
    });
    assert.equal(ok.status, 303);
  });
});

/** Reads server-sent events from `body`, one at a time. */
function eventReader(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<{ event?: string; data: string }> {
      while (!buffer.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += value;
      }
      const end = buffer.indexOf("\n\n");
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(":")) return this.next(); // a keep-alive
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = [...block.matchAll(/^data: (.*)$/gm)].map((m) => m[1])
        .join("\n");
      return { event, data };
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test("examples/notes.ts: the list of notes is live, in every session of the user", async () => {
  const fetch = makeFetch(new MemorySessionStore());
  const logIn = async () => {
    const client = new TestApp({ fetch }, { followRedirects: true });
    const r = await client.post("/login", {
      form: { user: "ada", password: "lovelace" },
    });
    return { client, csrf: csrfOf(r.text) };
  };
  const tab = await logIn();
  const laptop = await logIn();
  const watchersBefore = liveWatchers("ada");
  const cookie = `pesto_session=${await tab.client.cookie("pesto_session")}`;
  const stream = await fetch(
    new Request("http://localhost/notes/events", { headers: { cookie } }),
  );
  assert.equal(stream.status, 200);
  assert.equal(stream.headers.get("content-type"), "text/event-stream");
  assert.equal(stream.headers.get("content-encoding"), null);
  const events = eventReader(stream.body!);
  const first = await events.next();
  assert.equal(first.event, "notes");
  const before = JSON.parse(first.data) as { title: string }[];
  assert.equal(liveWatchers("ada"), watchersBefore + 1);

  // Saved in another session of the same user: the stream sends the list.
  const saved = await laptop.client.postMultipart("/notes", {
    fields: { csrf: laptop.csrf, title: "Live <one>" },
  });
  assert.equal(saved.status, 200);
  const after = await events.next();
  assert.equal(after.event, "notes");
  const list = JSON.parse(after.data) as { title: string; url: string }[];
  assert.equal(list.length, before.length + 1);
  assert.equal(list.at(-1)!.title, "Live <one>");
  assert.equal(list.at(-1)!.url, saved.url);

  // Deleted: the list again, without it.
  await laptop.client.post(`${saved.url}/delete`, {
    form: { csrf: laptop.csrf },
  });
  const deleted = JSON.parse((await events.next()).data) as unknown[];
  assert.equal(deleted.length, before.length);

  // The client goes away while the stream waits: its producer stops.
  await events.cancel();
  assert.equal(liveWatchers("ada"), watchersBefore);
});

Deno.test("examples/notes.ts: served, a client that goes away stops its stream's producer", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    makeFetch(new MemorySessionStore()),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const { cookie } = await logInToNotes(base);
    const before = liveWatchers("demo");
    const leaving = new AbortController();
    const stream = await fetch(`${base}/notes/events`, {
      headers: { cookie },
      signal: leaving.signal,
    });
    const events = eventReader(stream.body!);
    assert.equal((await events.next()).event, "notes");
    assert.equal(liveWatchers("demo"), before + 1);
    leaving.abort();
    await events.cancel().catch(() => {});
    const deadline = Date.now() + 5_000;
    while (liveWatchers("demo") !== before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(liveWatchers("demo"), before, "the producer stopped");
  } finally {
    await server.shutdown();
  }
});
