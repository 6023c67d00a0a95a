// The directory of spooled uploads going away mid-request, run in a process
// of its own (spool_fault_test.ts): the scenario named by the first argument
// runs with TMPDIR set for this process alone, and exits non-zero when an
// assertion fails. TMPDIR is `<dir>/tmp`; the directory goes to `<dir>/away`.
import assert from "node:assert/strict";
import { DispatcherApp, Response } from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";

const tmp = Deno.env.get("TMPDIR")!;
const away = `${tmp.slice(0, tmp.lastIndexOf("/"))}/away`;
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
const post = (app: DispatcherApp) =>
  new TestApp(app).postMultipart("/upload", {
    files: [{
      field: "f",
      filename: "big.bin",
      content: new Uint8Array(100_000),
    }],
  });
async function names(): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(tmp)) found.push(entry.name);
  return found;
}

/** Away while the upload is read: a 503, and its file removed once back. */
async function awayWhileRead(): Promise<void> {
  const app = new DispatcherApp({ onError: () => {} });
  app.match("/upload", "POST", async (request) => {
    const file = (await request.files()).get("f")!;
    await Deno.rename(tmp, away); // the directory goes away mid-request
    try {
      return new Response(String((await file.bytes()).length));
    } finally {
      await Deno.rename(away, tmp);
    }
  });
  const r = await post(app);
  assert.equal(r.status, 503);
  assert.equal(r.getHeader("retry-after"), "10");
  await settle();
  assert.deepEqual(
    await names(),
    [],
    "the file is removed once the response is sent",
  );
}

/**
 * Away when the response is sent, back after it: the file comes back with
 * the directory and is removed once uploads spool again.
 */
async function awayWhenSent(): Promise<void> {
  const app = new DispatcherApp({ onError: () => {} });
  let moveAway = true;
  app.match("/upload", "POST", async (request) => {
    const file = (await request.files()).get("f")!;
    if (moveAway) await Deno.rename(tmp, away);
    moveAway = false;
    return new Response(String(file.size));
  });
  assert.equal((await post(app)).status, 200);
  await settle();
  await Deno.rename(away, tmp);
  assert.equal((await names()).length, 1, "the file came back");
  assert.equal((await post(app)).status, 200);
  await settle();
  assert.deepEqual(await names(), [], "both files are removed");
}

/**
 * An upload already spooling when the directory goes away still finishes
 * (its file is open), and that does not end the outage: the log says it
 * ended only once a file made after it starts is spooled whole.
 */
async function inFlightDoesNotEndOutage(): Promise<void> {
  const said: string[] = [];
  console.log = console.error = (line: string) => said.push(line);
  const app = new DispatcherApp({ onError: () => {} });
  app.match("/upload", "POST", async (request) => {
    const file = (await request.files()).get("f")!;
    return new Response(String(file.size));
  });
  const boundary = "xyz";
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="f"; ` +
      `filename="a.bin"\r\n\r\n`,
  );
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      push = controller;
    },
  });
  const inFlight = app.fetch(
    new Request("http://x.test/upload", {
      method: "POST",
      body,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    }),
  );
  push.enqueue(head);
  push.enqueue(new Uint8Array(100_000)); // past the memory limit: spooled
  for (let i = 0; i < 100 && (await names()).length === 0; i++) await settle();
  assert.equal((await names()).length, 1, "the first upload is spooling");
  await Deno.rename(tmp, away);
  assert.equal((await post(app)).status, 503);
  push.enqueue(new Uint8Array(1_000));
  push.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
  push.close();
  const first = await inFlight;
  assert.equal(await first.text(), "101000");
  const lines = () => ({
    failing: said.filter((l) => /cannot be spooled/.test(l)).length,
    again: said.filter((l) => /spooled again/.test(l)).length,
  });
  assert.deepEqual(lines(), { failing: 1, again: 0 }, said.join("\n"));
  assert.equal((await post(app)).status, 503);
  await Deno.rename(away, tmp);
  assert.equal((await post(app)).status, 200);
  assert.deepEqual(lines(), { failing: 1, again: 1 }, said.join("\n"));
}

console.error = () => {}; // the outage's log line
const scenarios: Record<string, () => Promise<void>> = {
  awayWhileRead,
  awayWhenSent,
  inFlightDoesNotEndOutage,
};
const log = console.log;
await scenarios[Deno.args[0]]();
log("ok");
