// A server for the raw HTTP tests, run in its own process with TMPDIR set
// to a fresh directory, so that the tests can watch the temporary files of
// uploads appear and disappear. It prints its port, then serves until
// killed.
import { toHandler } from "../core.ts";
import { Response } from "../response.ts";

const tmp = Deno.env.get("TMPDIR")!;

function spooled(): number {
  let count = 0;
  for (const entry of Deno.readDirSync(tmp)) {
    if (entry.name.startsWith("pesto-upload-")) count++;
  }
  return count;
}

// Uploads whose body could not be read (their files are removed by then).
let failed = 0;

const handler = toHandler(async (request) => {
  if (request.pathInfo === "/spooled") {
    return new Response(`${spooled()} ${failed}`);
  }
  let files;
  try {
    files = await request.files();
  } catch (error) {
    failed++;
    throw error;
  }
  const sizes = [...files.values()].map((file) => file.size);
  if (request.pathInfo === "/throw") throw new Error("handler failed");
  return new Response(JSON.stringify({ sizes, spooled: spooled() }), {
    contentType: "application/json",
  });
}, { limits: { maxFileMemorySize: 1024, bodyTimeout: 10_000 }, onError() {} });

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen({ port }) {
    console.log(port);
  },
}, handler);
await server.finished;
