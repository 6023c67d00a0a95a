// Hono with its default router.
import { Hono } from "hono";

const port = Number(Deno.env.get("PORT") ?? 8000);
const app = new Hono();
const FILE = new Uint8Array(80_000).fill(0x61);
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
