import assert from "node:assert/strict";
import { MemorySessionStore } from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { makeFetch } from "../examples/notes.ts";

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
