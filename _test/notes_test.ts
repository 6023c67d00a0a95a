import assert from "node:assert/strict";
import { MemorySessionStore } from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { makeFetch } from "../examples/notes.ts";
import { freePort, waitUntilAnswers } from "./_process.ts";

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
    csrf = csrfOf(r.text);
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
      noteUrl = r.url;
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
  });
  await t.step("logging out ends the session", async () => {
    const r = await ada.post("/logout", { form: { csrf } });
    assert.match(r.text, /Log in/);
    assert.equal(await ada.cookie("pesto_session"), undefined);
    assert.equal((await ada.get(noteUrl)).status, 404);
  });
});

/** The project's root, where deno.json and its tasks are. */
const ROOT = new URL("..", import.meta.url).pathname;

/** Sends `signal` to the process group `pid` leads (the task and its app). */
function signalGroup(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    if (Deno.build.os === "windows") child.kill(signal);
    else Deno.kill(-child.pid, signal);
  } catch { /* already gone */ }
}

/**
 * `deno task notes` run as the README says, with PORT set, in a process
 * group of its own: stopping it stops the app the task runs too (SIGTERM,
 * then SIGKILL after 15 s).
 */
async function startNotesTask(): Promise<{
  base: string;
  errors: () => string;
  stop: () => Promise<void>;
}> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "notes"],
    cwd: ROOT,
    env: { PORT: String(port), NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
    detached: true,
  }).spawn();
  let errors = "";
  const drained = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) errors += chunk;
  })();
  const stop = async () => {
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 15_000);
    await child.status;
    clearTimeout(timer);
    await drained;
  };
  if (!await waitUntilAnswers(base)) {
    await stop();
    throw new Error(`deno task notes did not start:\n${errors}`);
  }
  return { base, errors: () => errors, stop };
}

Deno.test("deno task notes, as the README says: a 100 KB attachment is kept, one over 1 MB is 413", async () => {
  const notes = await startNotesTask();
  const base = notes.base;
  try {
    const login = await fetch(`${base}/login`, {
      method: "POST",
      body: new URLSearchParams({ user: "demo", password: "pesto" }),
      redirect: "manual",
    });
    await login.body?.cancel();
    assert.equal(login.status, 303);
    const cookie = login.headers.getSetCookie()[0].split(";")[0];
    const home = await fetch(`${base}/`, { headers: { cookie } });
    const csrf = csrfOf(await home.text());
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
