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

const handler = toHandler(async (request) => {
  if (request.pathInfo === "/spooled") return new Response(String(spooled()));
  const files = await request.files();
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
