// Hono with its default router.
import { Hono } from "hono";
import { serveStatic } from "hono/deno";

const port = Number(Deno.env.get("PORT") ?? 8000);
const app = new Hono();
const FILE = new Uint8Array(80_000).fill(0x61);
const STATIC_DIR = Deno.env.get("STATIC_DIR");
if (STATIC_DIR) {
  app.use(
    "/static/*",
    serveStatic({
      root: STATIC_DIR,
      rewriteRequestPath: (path) => path.slice("/static".length),
    }),
  );
}
app.get("/", (c) => c.text("Hello, world!"));
app.get(
  "/user/:id{[0-9]+}",
  (c) => c.json({ id: Number(c.req.param("id")), name: "user" }),
);
app.get(
  "/file",
  (c) => c.body(FILE, 200, { "content-type": "application/octet-stream" }),
);
app.post("/form", async (c) => {
  const form = await c.req.parseBody();
  return c.text(String(form["name"] ?? ""));
});

Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, app.fetch);
