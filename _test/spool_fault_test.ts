// Disk faults while spooling an upload (a directory missing, a full disk,
// a directory gone mid-request): the client gets a 503 with
// Retry-After, the log names the directory and the cause once, no partial
// file is left, the server keeps serving, and uploads work again once the
// directory does.
import assert from "node:assert/strict";
import { type PortServer, scriptFlags, startPortServer } from "./_process.ts";

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

/** The server above, run with `tmp` as its TMPDIR, and what it logs. */
interface SpoolServer extends PortServer {
  upload(size: number): Promise<
    { status: number; retry: string | null; text: string }
  >;
}

async function startSpoolServer(
  dir: string,
  tmp: string,
): Promise<SpoolServer> {
  await Deno.writeTextFile(`${dir}/main.ts`, SERVER);
  const server = await startPortServer(`${dir}/main.ts`, {
    flags: scriptFlags(dir),
    env: { TMPDIR: tmp },
    stderr: "piped",
  });
  const upload = async (size: number) => {
    const form = new FormData();
    form.append("f", new File([new Uint8Array(size)], "big.bin"));
    const r = await fetch(`http://127.0.0.1:${server.port}/upload`, {
      method: "POST",
      body: form,
    });
    return {
      status: r.status,
      retry: r.headers.get("retry-after"),
      text: await r.text(),
    };
  };
  return { ...server, upload };
}

Deno.test("an upload whose temporary directory is gone is a 503, and works once it is back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pesto-spool-" });
  const tmp = `${dir}/tmp`; // not made yet: spooling fails
  const server = await startSpoolServer(dir, tmp);
  const { upload, out, err, port } = server;
  try {
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
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether this machine lets the test mount a small tmpfs (root, Linux). */
function canMountTmpfs(): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  const dir = Deno.makeTempDirSync({ prefix: "pesto-mount-probe-" });
  try {
    const mount = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (!mount.success) return false;
    new Deno.Command("umount", { args: [dir] }).outputSync();
    return true;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir);
  }
}

Deno.test({
  name:
    "an upload that fills the temporary directory is a 503, leaves no file, and uploads that fit still work",
  // A full disk, for real: a 300 KB tmpfs as TMPDIR (needs root; elsewhere
  // the tests above stand in with a directory that is missing).
  ignore: !canMountTmpfs(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "pesto-spool-full-" });
    const tmp = `${dir}/tmp`;
    await Deno.mkdir(tmp);
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=300k", "tmpfs", tmp],
    }).output();
    assert.ok(mount.success, new TextDecoder().decode(mount.stderr));
    const server = await startSpoolServer(dir, tmp);
    try {
      assert.deepEqual(await server.upload(200_000), {
        status: 200,
        retry: null,
        text: "200000",
      });
      for (let i = 0; i < 2; i++) {
        const r = await server.upload(1_000_000);
        assert.equal(r.status, 503);
        assert.equal(r.retry, "10");
        assert.match(r.text, /try again shortly/);
      }
      const said = server.err.filter((l) =>
        l.includes("uploads cannot be spooled")
      );
      assert.equal(said.length, 1, server.err.join("\n"));
      assert.ok(
        said[0].includes(tmp) && /No space left on device/.test(said[0]),
        said[0],
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const left: string[] = [];
      for await (const entry of Deno.readDir(tmp)) left.push(entry.name);
      assert.deepEqual(left, [], "no partial file left");
      // The space is back: an upload that fits works, and the log says so.
      assert.deepEqual(await server.upload(200_000), {
        status: 200,
        retry: null,
        text: "200000",
      });
      assert.equal(
        await (await fetch(`http://127.0.0.1:${server.port}/`)).text(),
        "home",
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(
        server.out.some((l) => /uploads are spooled again/.test(l)),
        server.out.join("\n"),
      );
    } finally {
      await server.stop();
      await new Deno.Command("umount", { args: [tmp] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Runs `scenario` of `_spool_away.ts` in a process with its own TMPDIR. */
async function runAway(scenario: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pesto-spool-away-" });
  try {
    await Deno.mkdir(`${dir}/tmp`);
    const { success, stdout, stderr } = await new Deno.Command(
      Deno.execPath(),
      {
        args: [
          "run",
          ...scriptFlags(dir),
          new URL("_spool_away.ts", import.meta.url).pathname,
          scenario,
        ],
        env: { TMPDIR: `${dir}/tmp` },
      },
    ).output();
    const said = new TextDecoder().decode(stdout) +
      new TextDecoder().decode(stderr);
    assert.ok(success && said.includes("ok"), said);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a spooled upload whose directory went away answers 503, and its file is removed once back", async () => {
  await runAway("awayWhileRead");
});

Deno.test("a spooled file whose directory was away when its response was sent is removed once uploads spool again", async () => {
  await runAway("awayWhenSent");
});

Deno.test("an upload still spooling when its directory goes away does not end the outage in the log", async () => {
  await runAway("inFlightDoesNotEndOutage");
});
