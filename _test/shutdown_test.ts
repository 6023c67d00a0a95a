// Graceful shutdown of serve() on SIGTERM: requests in flight finish, new
// connections are refused, temporary upload files go, the process exits 0
// within the deadline; a request that outlives the deadline is cut.
import assert from "node:assert/strict";
import { type PortServer, scriptFlags, startPortServer } from "./_process.ts";

const SERVER = `
import { DispatcherApp, Response, serve } from "@pesto/pesto";
const app = new DispatcherApp();
app.match("/slow/<ms:int>", "GET", async (_request, { ms }) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return new Response("done " + ms);
});
app.match("/upload/<ms:int>", "POST", async (request, { ms }) => {
  const files = await request.files();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return new Response(String(files.get("f")?.size));
});
serve(app, {
  hostname: "127.0.0.1",
  port: 0,
  shutdownTimeout: Number(Deno.env.get("DEADLINE")),
  onListen({ port }) { console.log("port " + port); },
});
`;

interface Running extends PortServer {
  /** The server's TMPDIR. */
  tmp: string;
}

async function start(deadline: number): Promise<Running> {
  const dir = await Deno.makeTempDir({ prefix: "pesto-shutdown-" });
  const tmp = `${dir}/tmp`;
  await Deno.mkdir(tmp);
  await Deno.writeTextFile(`${dir}/main.ts`, SERVER);
  const server = await startPortServer(`${dir}/main.ts`, {
    flags: scriptFlags(dir, tmp),
    env: { DEADLINE: String(deadline), TMPDIR: tmp },
  });
  return { ...server, tmp };
}

/** The child's exit status; it is killed after `ms` (the test then fails). */
async function exited(
  child: Deno.ChildProcess,
  ms: number,
): Promise<Deno.CommandStatus> {
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  try {
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

async function leftovers(tmp: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(tmp)) names.push(entry.name);
  return names;
}

Deno.test("serve() on SIGTERM lets requests in flight finish, refuses new ones, exits 0", async () => {
  const server = await start(5_000);
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const slow = [300, 500, 700, 900, 1100].map((ms) =>
      fetch(`${base}/slow/${ms}`).then(async (r) => [r.status, await r.text()])
    );
    // A spooled upload in flight too (over 64 KiB goes to a file).
    const form = new FormData();
    form.append("f", new File([new Uint8Array(200_000)], "big.bin"));
    const upload = fetch(`${base}/upload/600`, { method: "POST", body: form })
      .then(async (r) => [r.status, await r.text()]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const start = performance.now();
    server.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(
      () => fetch(`${base}/slow/1`).then((r) => r.text()),
      "a new connection after the signal is refused",
    );
    assert.deepEqual(await Promise.all(slow), [
      [200, "done 300"],
      [200, "done 500"],
      [200, "done 700"],
      [200, "done 900"],
      [200, "done 1100"],
    ]);
    assert.deepEqual(await upload, [200, "200000"]);
    const status = await exited(server.child, 15_000);
    assert.equal(status.code, 0);
    assert.ok(performance.now() - start < 5_000, "exited within the deadline");
    assert.ok(
      server.out.some((line) =>
        /^Pesto shut down on SIGTERM in \d+ ms: every request finished/.test(
          line,
        )
      ),
      server.out.join("\n"),
    );
    assert.deepEqual(await leftovers(server.tmp), []);
  } finally {
    await server.stop();
    await Deno.remove(server.tmp.replace(/\/tmp$/, ""), { recursive: true })
      .catch(() => {});
  }
});

Deno.test("serve() cuts a request that outlives shutdownTimeout and still exits 0", async () => {
  const server = await start(300);
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const long = fetch(`${base}/slow/10000`).then(
      (r) => r.text().then(() => "answered"),
      () => "cut",
    );
    const form = new FormData();
    form.append("f", new File([new Uint8Array(200_000)], "big.bin"));
    const upload = fetch(`${base}/upload/10000`, { method: "POST", body: form })
      .then((r) => r.text().then(() => "answered"), () => "cut");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      (await leftovers(server.tmp)).length,
      1,
      "the upload is spooled",
    );
    const start = performance.now();
    server.child.kill("SIGTERM");
    const status = await exited(server.child, 15_000);
    assert.equal(status.code, 0);
    assert.ok(
      performance.now() - start < 3_000,
      "exited soon after the deadline",
    );
    assert.equal(await long, "cut");
    assert.equal(await upload, "cut");
    assert.deepEqual(await leftovers(server.tmp), [], "no temporary file left");
    assert.ok(
      server.out.some((line) =>
        /requests still running after 300 ms were cut, 1 temporary upload files removed/
          .test(line)
      ),
      server.out.join("\n"),
    );
  } finally {
    await server.stop();
    await Deno.remove(server.tmp.replace(/\/tmp$/, ""), { recursive: true })
      .catch(() => {});
  }
});
