// Concurrency over real HTTP: 200 clients at once, each with its own
// session, form fields and uploaded file, each get their own back.
import assert from "node:assert/strict";
import { makeHostileApp } from "./_hostile_app.ts";
import { startServer } from "./_raw_http.ts";

const CLIENTS = 200;

/** One client's conversation; returns what it saw. */
async function client(base: string, i: number): Promise<void> {
  const name = `client-${i}-${"é".repeat(i % 5)}`;
  const first = await fetch(
    `${base}/session?name=${encodeURIComponent(name)}`,
  );
  assert.deepEqual(await first.json(), { visits: 1, name });
  const cookie = first.headers.get("set-cookie")?.split(";")[0];
  assert.match(cookie ?? "", /^pesto_session=[0-9a-f]{64}$/);
  const headers = { cookie: cookie! };

  const form = new FormData();
  form.append("who", name);
  form.append("n", String(i));
  // Past maxFileMemorySize: spooled to a temporary file.
  const content = `file of ${name} `.repeat(10 + (i % 7));
  form.append("f", new File([content], `${i}.txt`, { type: "text/plain" }));
  const upload = await fetch(`${base}/form`, {
    method: "POST",
    body: form,
    headers,
  });
  assert.equal(upload.status, 200);
  assert.deepEqual(await upload.json(), {
    who: [name],
    n: [String(i)],
    f: [{
      filename: `${i}.txt`,
      size: new TextEncoder().encode(content).byteLength,
      text: content,
    }],
  });

  const urlencoded = await fetch(`${base}/form`, {
    method: "POST",
    body: new URLSearchParams({ who: name }),
    headers,
  });
  assert.deepEqual(await urlencoded.json(), { who: [name] });

  const again = await fetch(`${base}/session`, { headers });
  assert.deepEqual(await again.json(), { visits: 2, name });
}

Deno.test("DispatcherApp with sessions: 200 concurrent clients each get their own session, fields and uploads", async () => {
  const fixture = await makeHostileApp();
  const server = startServer(fixture.fetch);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const results = await Promise.allSettled(
      Array.from({ length: CLIENTS }, (_, i) => client(base, i)),
    );
    const failures = results.filter((r) => r.status === "rejected");
    assert.deepEqual(failures, []);
    assert.deepEqual(fixture.errors, []);
  } finally {
    await server.close();
    await fixture.cleanup();
  }
});
