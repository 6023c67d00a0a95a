// Pesto: the same routes.
import { DispatcherApp, Response, serveStatic } from "@pesto/pesto";

const port = Number(Deno.env.get("PORT") ?? 8000);
const app = new DispatcherApp();
const FILE = new Uint8Array(80_000).fill(0x61);
const STATIC_DIR = Deno.env.get("STATIC_DIR");
if (STATIC_DIR) {
  app.match("/static/<path:path>", "GET", serveStatic(STATIC_DIR));
}
app.match(
  "/",
  "GET",
  () => new Response("Hello, world!", { contentType: "text/plain" }),
);
app.match(
  "/user/<id:int>",
  "GET",
  (_request, { id }) => Response.json({ id, name: "user" }),
);
app.match(
  "/file",
  "GET",
  () => new Response(FILE, { contentType: "application/octet-stream" }),
);
app.match("/form", "POST", async (request) => {
  const name = await request.get("name");
  return new Response(typeof name === "string" ? name : "", {
    contentType: "text/plain",
  });
});

Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, app.fetch);
