// Raw Deno.serve with a hand-written matcher: the baseline.
const port = Number(Deno.env.get("PORT") ?? 8000);
const USER = /^\/user\/(\d+)$/;
const FILE = new Uint8Array(80_000).fill(0x61);
const STATIC_DIR = Deno.env.get("STATIC_DIR");

Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (request) => {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === "/" && request.method === "GET") {
    return new Response("Hello, world!");
  }
  if (request.method === "GET") {
    const match = USER.exec(path);
    if (match) return Response.json({ id: Number(match[1]), name: "user" });
  }
  if (path === "/file" && request.method === "GET") {
    return new Response(FILE, {
      headers: { "content-type": "application/octet-stream" },
    });
  }
  if (path === "/static/big.bin" && STATIC_DIR) {
    const file = await Deno.open(`${STATIC_DIR}/big.bin`);
    const { size } = await file.stat();
    return new Response(file.readable, {
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(size),
      },
    });
  }
  if (path === "/form" && request.method === "POST") {
    const form = new URLSearchParams(await request.text());
    return new Response(form.get("name") ?? "");
  }
  return new Response("Not Found", { status: 404 });
});
