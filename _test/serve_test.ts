// What serve() says when it cannot serve as asked, and a process that
// exits at once when nothing is left (no body deadline keeps it alive).
import assert from "node:assert/strict";
import { Response, serve } from "@pesto/pesto";

const ROOT = new URL("..", import.meta.url);

/** Runs `script` (a module's text) in a child process; bounded in time. */
async function runScript(
  script: string,
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const dir = await Deno.makeTempDir({ prefix: "pesto-serve-" });
  const path = `${dir}/main.ts`;
  await Deno.writeTextFile(path, script);
  const start = performance.now();
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--no-lock",
        ...(options.args ?? []),
        path,
      ],
      env: options.env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill(), 20_000);
    const output = await child.output();
    clearTimeout(timer);
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return {
      code: output.code,
      stdout: decode(output.stdout),
      stderr: decode(output.stderr),
      ms: performance.now() - start,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serve() on a port in use says so and names PORT", () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  try {
    assert.throws(
      () =>
        serve(() => new Response("x"), {
          hostname: "127.0.0.1",
          port,
          onListen() {},
        }),
      (error: unknown) =>
        error instanceof Deno.errors.AddrInUse &&
        error.message.includes(`port ${port}`) &&
        error.message.includes("PORT"),
    );
  } finally {
    listener.close();
  }
});

Deno.test("serve() refuses a PORT that is not a port number", async () => {
  const run = await runScript(
    `import { Response, serve } from "@pesto/pesto";
     serve(() => new Response("x"), { onListen() {} });`,
    { args: ["--allow-net", "--allow-env"], env: { PORT: "80a" } },
  );
  assert.notEqual(run.code, 0);
  assert.match(
    run.stderr,
    /Cannot serve on PORT "80a": it is not a port number/,
  );
});

Deno.test("serve() reports a PORT it cannot read without --allow-env", async () => {
  const run = await runScript(
    `import { Response, serve } from "@pesto/pesto";
     const server = serve(() => new Response("x"), {
       hostname: "127.0.0.1",
       onListen({ port }) { console.log("port " + port); },
     });
     await server.shutdown();`,
    { args: ["--allow-net"], env: { PORT: "0" } },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /cannot read PORT without --allow-env/);
  assert.match(run.stdout, /^port 8080$/m);
});

Deno.test("a body still being read never keeps the process alive", async () => {
  // The read waits on a stream that never ends, with a 60 s deadline: the
  // process must still exit as soon as nothing else is left.
  const run = await runScript(
    `import { Request } from "@pesto/pesto";
     const body = new ReadableStream({ pull: () => new Promise(() => {}) });
     const request = new Request(
       new globalThis.Request("http://x.test/", { method: "POST", body }),
       { limits: { bodyTimeout: 60_000 } },
     );
     request.text().catch(() => {});
     console.log("reading");`,
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /reading/);
  assert.ok(
    run.ms < 10_000,
    `the process took ${run.ms.toFixed(0)} ms to exit`,
  );
});
