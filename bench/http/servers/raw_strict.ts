// Raw Deno.serve doing what Pesto must do on every request, check the Host
// header (security.md, rule 1), and what a response of any type but plain
// text costs: an explicit Content-Type in the response init. With the Host
// checked, the URL's path can be trusted: the JSON route is raw's matcher.
const port = Number(Deno.env.get("PORT") ?? 8000);
const HOST = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const USER = /^\/user\/(\d+)$/;
const TEXT: ResponseInit = {
  headers: [["content-type", "text/plain; charset=UTF-8"]],
};

Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, (request) => {
  const host = request.headers.get("host");
  if (host !== null && !HOST.test(host)) {
    return new Response("Bad Request", { status: 400 });
  }
  const path = new URL(request.url).pathname;
  if (path === "/" && request.method === "GET") {
    return new Response("Hello, world!", TEXT);
  }
  if (request.method === "GET") {
    const match = USER.exec(path);
    if (match) return Response.json({ id: Number(match[1]), name: "user" });
  }
  return new Response("Not Found", { status: 404 });
});
