// Disk faults while spooling an upload: the client gets a 503 with
// Retry-After, the log names the directory and the cause once, no partial
// file is left, the server keeps serving, and uploads work again once the
// directory does.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);

const SERVER = `
import { DispatcherApp, Response, serve } from "@pesto/pesto";
const app = new DispatcherApp();
app.match("/upload", "POST", async (request) => {
  const file = (await request.files()).get("f");
  return new Response(String(file?.size));
});
app.match("/", "GET", () => new Response("home"));
serve(app, { hostname: "127.0.0.1", port: 0, onListen({ port }) { console.log("port " + port); } });
`;

async function readLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
): Promise<void> {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let i;
    while ((i = buffer.indexOf("\n")) !== -1) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
  }
}

Deno.test("an upload whose temporary directory is gone is a 503, and works once it is back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pesto-spool-" });
  const tmp = `${dir}/tmp`; // not made yet: spooling fails
  await Deno.writeTextFile(`${dir}/main.ts`, SERVER);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      `--allow-read=${dir},${ROOT.pathname}`,
      `--allow-write=${dir}`,
      "--config",
      new URL("deno.json", ROOT).pathname,
      "--no-lock",
      `${dir}/main.ts`,
    ],
    env: { TMPDIR: tmp },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([
    readLines(child.stdout, out),
    readLines(child.stderr, err),
  ]);
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    let port = 0;
    for (let i = 0; i < 200 && !port; i++) {
      port = Number(
        /^port (\d+)$/.exec(out.find((l) => l.startsWith("port ")) ?? "")
          ?.[1] ?? 0,
      );
      if (!port) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(port, "the server started");
    const upload = async (size: number) => {
      const form = new FormData();
      form.append("f", new File([new Uint8Array(size)], "big.bin"));
      const r = await fetch(`http://127.0.0.1:${port}/upload`, {
        method: "POST",
        body: form,
      });
      return {
        status: r.status,
        retry: r.headers.get("retry-after"),
        text: await r.text(),
      };
    };
    for (let i = 0; i < 3; i++) {
      const r = await upload(200_000);
      assert.equal(r.status, 503);
      assert.equal(r.retry, "10");
      assert.match(r.text, /try again shortly/);
    }
    // Small uploads stay in memory, and the rest of the app is served.
    assert.deepEqual(await upload(1_000), {
      status: 200,
      retry: null,
      text: "1000",
    });
    assert.equal(
      await (await fetch(`http://127.0.0.1:${port}/`)).text(),
      "home",
    );
    const said = err.filter((l) => l.includes("uploads cannot be spooled"));
    assert.equal(said.length, 1, err.join("\n"));
    assert.ok(said[0].includes(tmp) && /NotFound/.test(said[0]), said[0]);

    await Deno.mkdir(tmp);
    assert.deepEqual(await upload(200_000), {
      status: 200,
      retry: null,
      text: "200000",
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(
      out.some((l) => /uploads are spooled again/.test(l)),
      out.join("\n"),
    );
    const left: string[] = [];
    for await (const entry of Deno.readDir(tmp)) left.push(entry.name);
    assert.deepEqual(left, [], "no temporary file left");
  } finally {
    clearTimeout(timer);
    child.kill("SIGKILL");
    await child.status;
    await reading.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a spooled upload whose directory went away answers 503, and its file is removed once back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pesto-spool-away-" });
  const tmp = `${dir}/tmp`;
  const away = `${dir}/away`;
  await Deno.mkdir(tmp);
  const previous = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", tmp);
  const errors: unknown[] = [];
  const log = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const { DispatcherApp, Response } = await import("@pesto/pesto");
    const { TestApp } = await import("@pesto/pesto/testing");
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
    const r = await new TestApp(app).postMultipart("/upload", {
      files: [{
        field: "f",
        filename: "big.bin",
        content: new Uint8Array(100_000),
      }],
    });
    assert.equal(r.status, 503);
    assert.equal(r.getHeader("retry-after"), "10");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const left: string[] = [];
    for await (const entry of Deno.readDir(tmp)) left.push(entry.name);
    assert.deepEqual(left, [], "the file is removed once the response is sent");
  } finally {
    console.error = log;
    if (previous === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", previous);
    await Deno.remove(dir, { recursive: true });
  }
});
