// The Host header read without exposing the request's Headers: the same
// answer as `headers.get("host")`, for served and in-process requests.
import assert from "node:assert/strict";
import { hostHeader } from "../_runtime/served_request.ts";
import { rawRequest, startServer } from "./_raw_http.ts";

Deno.test("hostHeader() of a served request is what headers.get() gives", async () => {
  const server = startServer((raw) => {
    const host = hostHeader(raw);
    return new Response(JSON.stringify([host, raw.headers.get("host")]));
  });
  try {
    const hosts = [
      "example.com",
      "example.com:8080",
      "[::1]:80",
      "evil.test/admin",
      "a b",
      "",
      "caf\u00e9.test",
    ];
    for (const host of hosts) {
      const response = await rawRequest(
        server.port,
        `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      const [ours, theirs] = JSON.parse(response.body);
      assert.equal(ours, theirs, `Host: ${host}`);
      if (/^[\x20-\x7e]*$/.test(host)) assert.equal(ours, host);
    }
    const none = await rawRequest(server.port, "GET / HTTP/1.0\r\n\r\n");
    assert.deepEqual(JSON.parse(none.body), [null, null]);
  } finally {
    await server.close();
  }
});

Deno.test("hostHeader() of an in-process request reads its headers", () => {
  assert.equal(hostHeader(new Request("http://a.test/")), null);
  const named = new Request("http://a.test/", { headers: { host: "b.test" } });
  assert.equal(hostHeader(named), "b.test");
});
