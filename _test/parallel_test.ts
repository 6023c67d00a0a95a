import assert from "node:assert/strict";
import { serveParallelExample } from "./_process.ts";

Deno.test({
  name:
    "examples/parallel.ts under deno serve --parallel: sessions and notes are shared by the workers",
  fn: async (t) => {
    const { base, startLines, stop } = await serveParallelExample(2);
    // No idle connections are kept, so every request opens a new one and
    // the kernel spreads them over the workers' sockets.
    const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const get = async (path: string, cookie = "") => {
      const response = await fetch(base + path, {
        client,
        headers: cookie
          ? { cookie, connection: "close" }
          : { connection: "close" },
        redirect: "manual",
      });
      return { response, text: await response.text() };
    };
    try {
      await t.step("the start message lists the routes once", () => {
        const joined = startLines.join("\n");
        assert.match(joined, /Notes listening on http:\/\/127\.0\.0\.1:\d+\//);
        assert.match(joined, /GET, HEAD\s+\/whoami/);
        assert.match(joined, /POST\s+\/notes/);
        assert.equal(
          startLines.filter((line) => /listening on/.test(line)).length,
          1,
        );
      });

      let cookie = "";
      await t.step("logging in on one worker", async () => {
        const response = await fetch(base + "/login", {
          client,
          method: "POST",
          body: new URLSearchParams({ user: "demo", password: "pesto" }),
          headers: { connection: "close" },
          redirect: "manual",
        });
        await response.body?.cancel();
        assert.equal(response.status, 303);
        cookie = response.headers.get("set-cookie")!.split(";")[0];
        assert.match(cookie, /=/);
      });

      await t.step("every worker knows the session", async () => {
        // The second worker may still be starting: ask until it answers
        // too, within a bound.
        const workers = new Set<string>();
        const deadline = Date.now() + 15_000;
        while (workers.size < 2 && Date.now() < deadline) {
          const { response, text } = await get("/whoami", cookie);
          assert.equal(response.status, 200);
          const body = JSON.parse(text) as { user: string; worker: string };
          assert.equal(body.user, "demo");
          workers.add(body.worker);
        }
        assert.equal(workers.size, 2, "two workers answered");
      });

      await t.step(
        "a note added on one worker is listed by the other",
        async () => {
          const home = await get("/", cookie);
          const csrf = /name="csrf" value="([^"]+)"/.exec(home.text)?.[1];
          assert.ok(csrf, "the home page has a CSRF token");
          const added = await fetch(base + "/notes", {
            client,
            method: "POST",
            body: new URLSearchParams({ csrf, text: "shared by workers" }),
            headers: { cookie, connection: "close" },
            redirect: "manual",
          });
          await added.body?.cancel();
          assert.equal(added.status, 303);
          const workers = new Set<string>();
          for (let i = 0; i < 60 && workers.size < 2; i++) {
            const { text } = await get("/", cookie);
            assert.match(text, /<li>shared by workers<\/li>/);
            workers.add(/id="worker">([^<]+)</.exec(text)![1]);
          }
          assert.equal(workers.size, 2, "two workers answered");
        },
      );

      await t.step("a request without the cookie is a stranger", async () => {
        const { text } = await get("/whoami");
        assert.equal(JSON.parse(text).user, null);
      });
    } finally {
      client.close();
      await stop();
    }
  },
});
