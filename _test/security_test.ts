// csrf() and csrfToken(): hostile requests over a real socket (raw bytes to
// Deno.serve, so every header is exactly what a browser or an attacker would
// send) against a DispatcherApp with sessions. Each refused case also checks
// that no handler ran.
import assert from "node:assert/strict";
import {
  compose,
  DispatcherApp,
  type FetchHandler,
  type Middleware,
  mount,
  Request as PestoRequest,
  Response,
  sessionMiddleware,
  useXForwarded,
} from "@pesto/pesto";
import { csrf, type CsrfOptions, csrfToken } from "@pesto/pesto/security";
import { timingSafeEqual } from "../_security/timing_safe_equal.ts";
import {
  multipartBody,
  rawRequest,
  type RawResponse,
  startServer,
  type TestServer,
} from "./_raw_http.ts";

const enc = new TextEncoder();
const B = "csrf-boundary";

interface Send {
  method?: string;
  target?: string;
  host?: string;
  headers?: Record<string, string>;
  type?: string;
  body?: string | Uint8Array;
}

/** The bytes of one request (Connection: close). */
function bytesOf(send: Send): (string | Uint8Array)[] {
  const method = send.method ?? "POST";
  const body = typeof send.body === "string"
    ? enc.encode(send.body)
    : send.body;
  let head = `${method} ${send.target ?? "/transfer"} HTTP/1.1\r\nHost: ${
    send.host ?? "h.test"
  }\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(send.headers ?? {})) {
    head += `${name}: ${value}\r\n`;
  }
  if (send.type) head += `Content-Type: ${send.type}\r\n`;
  if (body) head += `Content-Length: ${body.byteLength}\r\n`;
  return body ? [head + "\r\n", body] : [head + "\r\n"];
}

const URLENCODED = "application/x-www-form-urlencoded";
const MULTIPART = `multipart/form-data; boundary=${B}`;

/** The three bodies a plain HTML form can send without script. */
const FORMS: { name: string; type: string; body: string | Uint8Array }[] = [
  { name: "urlencoded", type: URLENCODED, body: "to=eve&amount=1000" },
  {
    name: "multipart",
    type: MULTIPART,
    body: multipartBody(B, [
      { name: "to", content: "eve" },
      { name: "amount", content: "1000" },
    ]),
  },
  { name: "text/plain", type: "text/plain", body: "to=eve\r\namount=1000" },
];

/** A bank: routes that change things record that they ran. */
function bankApp(ran: string[]): DispatcherApp {
  const app = new DispatcherApp();
  app.match("/transfer", "GET", () => new Response("the transfer form"));
  app.match("/transfer", "POST", async (request) => {
    ran.push("transfer");
    const form = await request.form();
    const file = form.get("note");
    const note = typeof file === "string" || file === undefined
      ? ""
      : ` note=${await file.text()}`;
    return new Response(
      `sent ${form.get("amount")} to ${form.get("to")}${note}`,
    );
  });
  app.match("/items/<id:int>", "DELETE", (_request, { id }) => {
    ran.push(`delete ${id}`);
    return new Response(`deleted ${id}`);
  });
  // A GET with a side effect: csrf() leaves safe methods alone.
  app.match("/logout", "GET", () => {
    ran.push("logout");
    return new Response("bye");
  });
  app.match("/hooks/pay", "POST", () => {
    ran.push("hook");
    return new Response("paid");
  });
  app.match("/form", "GET", async (request) => {
    request.session.set("user", "ada");
    return new Response(await csrfToken(request));
  });
  app.match("/json", "POST", async (request) => {
    ran.push("json");
    return new Response(JSON.stringify(await request.json()));
  });
  return app;
}

interface Fixture {
  server: TestServer;
  ran: string[];
  send(send: Send): Promise<RawResponse>;
}

function serveBank(
  middlewares: (Middleware | ReturnType<typeof csrf>)[],
  wrap: (fetch: FetchHandler) => FetchHandler = (fetch) => fetch,
): Fixture {
  const ran: string[] = [];
  const fetch = compose(...middlewares as Middleware[])(bankApp(ran));
  const server = startServer(wrap(fetch));
  return {
    server,
    ran,
    send: (send) => {
      ran.length = 0; // each request is judged alone, even after a failure
      return rawRequest(server.port, bytesOf(send));
    },
  };
}

const OPTIONS: CsrfOptions = {
  trustedOrigins: ["https://partner.test", "http://h.test:8443"],
  bypass: (request) => request.pathInfo.startsWith("/hooks/"),
};

function assertRefused(
  response: RawResponse,
  ran: string[],
  message = "Cross-origin request refused",
): void {
  assert.equal(response.status, 403, response.body);
  assert.equal(response.body, `${message}\n`);
  assert.match(response.headers.get("content-type")!, /^text\/plain/);
  assert.deepEqual(ran, [], "no handler ran");
}

function assertPassed(response: RawResponse, ran: string[], what: string) {
  assert.equal(response.status, 200, response.body);
  assert.deepEqual(ran, [what]);
  ran.length = 0;
}

Deno.test("csrf() refuses cross-site form posts (Sec-Fetch-Site) before the handler runs", async (t) => {
  const f = serveBank([sessionMiddleware(), csrf(OPTIONS)]);
  try {
    for (const form of FORMS) {
      for (
        const site of [
          "cross-site",
          "same-site",
          "cross-site, cross-site",
          "bogus",
        ]
      ) {
        await t.step(`${form.name}, Sec-Fetch-Site: ${site}`, async () => {
          const response = await f.send({
            type: form.type,
            body: form.body,
            headers: { "Sec-Fetch-Site": site, Origin: "https://evil.test" },
          });
          assertRefused(response, f.ran);
        });
      }
      await t.step(`${form.name}, cross-site without Origin`, async () => {
        assertRefused(
          await f.send({
            type: form.type,
            body: form.body,
            headers: { "Sec-Fetch-Site": "cross-site" },
          }),
          f.ran,
        );
      });
      for (const site of ["same-origin", "none"]) {
        await t.step(
          `${form.name}, Sec-Fetch-Site: ${site} passes`,
          async () => {
            const response = await f.send({
              type: form.type,
              body: form.body,
              headers: { "Sec-Fetch-Site": site, Origin: "http://h.test" },
            });
            assertPassed(response, f.ran, "transfer");
            if (form.type !== "text/plain") {
              assert.equal(response.body, "sent 1000 to eve");
            }
          },
        );
      }
    }
    await t.step("Sec-Fetch-Site wins over Origin (as in Go)", async () => {
      const response = await f.send({
        type: URLENCODED,
        body: "to=eve&amount=1",
        headers: { "Sec-Fetch-Site": "same-origin", Origin: "https://x.test" },
      });
      assertPassed(response, f.ran, "transfer");
    });
    await t.step("every unsafe method is checked", async () => {
      for (const method of ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"]) {
        const response = await f.send({
          method,
          target: "/items/7",
          headers: { "Sec-Fetch-Site": "cross-site" },
        });
        assertRefused(response, f.ran);
      }
    });
  } finally {
    await f.server.close();
  }
});

Deno.test("csrf() without Sec-Fetch-Site compares Origin with the request's own origin", async (t) => {
  const f = serveBank([sessionMiddleware(), csrf(OPTIONS)]);
  const refused: [string, Send][] = [
    ["Origin: null (sandboxed iframe, data: URL)", {
      headers: { Origin: "null" },
    }],
    ["another site", { headers: { Origin: "http://evil.test" } }],
    ["another port", { headers: { Origin: "http://h.test:8080" } }],
    ["another scheme", { headers: { Origin: "https://h.test" } }],
    ["a subdomain", { headers: { Origin: "http://sub.h.test" } }],
    ["a suffix of the host", { headers: { Origin: "http://evilh.test" } }],
    ["the host with a path", { headers: { Origin: "http://h.test/" } }],
    ["the host in another case", { headers: { Origin: "http://H.test" } }],
    [
      "own origin but another port in Host",
      { host: "h.test:8000", headers: { Origin: "http://h.test" } },
    ],
    [
      "an empty Sec-Fetch-Site falls back to Origin",
      { headers: { "Sec-Fetch-Site": "", Origin: "http://evil.test" } },
    ],
  ];
  const passed: [string, Send][] = [
    ["own origin", { headers: { Origin: "http://h.test" } }],
    ["own origin, Host in upper case", {
      host: "H.TEST",
      headers: { Origin: "http://h.test" },
    }],
    ["own origin with its port", {
      host: "h.test:8000",
      headers: { Origin: "http://h.test:8000" },
    }],
    ["own origin, default port in Host", {
      host: "h.test:80",
      headers: { Origin: "http://h.test" },
    }],
    ["neither header (curl, API clients)", {}],
    ["an empty Origin counts as none", { headers: { Origin: "" } }],
    ["an empty Sec-Fetch-Site counts as none", {
      headers: { "Sec-Fetch-Site": "", Origin: "http://h.test" },
    }],
  ];
  try {
    for (const form of FORMS) {
      for (const [name, send] of refused) {
        await t.step(`${form.name}: ${name} is refused`, async () => {
          assertRefused(
            await f.send({ ...send, type: form.type, body: form.body }),
            f.ran,
          );
        });
      }
      for (const [name, send] of passed) {
        await t.step(`${form.name}: ${name} passes`, async () => {
          assertPassed(
            await f.send({ ...send, type: form.type, body: form.body }),
            f.ran,
            "transfer",
          );
        });
      }
    }
    await t.step(
      "a malformed Host is a 400 when the origin is needed",
      async () => {
        const response = await f.send({
          host: "h.test:99999",
          headers: { Origin: "http://h.test" },
        });
        assert.equal(response.status, 400);
        assert.deepEqual(f.ran, []);
      },
    );
  } finally {
    await f.server.close();
  }
});

Deno.test("csrf() lets trusted origins and bypassed requests through", async (t) => {
  const f = serveBank([sessionMiddleware(), csrf(OPTIONS)]);
  try {
    await t.step("a trusted origin, cross-site", async () => {
      assertPassed(
        await f.send({
          type: URLENCODED,
          body: "to=a&amount=1",
          headers: {
            "Sec-Fetch-Site": "cross-site",
            Origin: "https://partner.test",
          },
        }),
        f.ran,
        "transfer",
      );
    });
    await t.step("a trusted origin, without Sec-Fetch-Site", async () => {
      assertPassed(
        await f.send({
          type: URLENCODED,
          body: "to=a&amount=1",
          headers: { Origin: "http://h.test:8443" },
        }),
        f.ran,
        "transfer",
      );
    });
    await t.step(
      "trust is exact: not a subdomain, scheme or port",
      async () => {
        for (
          const origin of [
            "https://sub.partner.test",
            "http://partner.test",
            "https://partner.test:444",
            "https://partner.test.evil.test",
          ]
        ) {
          assertRefused(
            await f.send({
              headers: { "Sec-Fetch-Site": "cross-site", Origin: origin },
            }),
            f.ran,
          );
        }
      },
    );
    await t.step("a bypassed route takes cross-site posts", async () => {
      assertPassed(
        await f.send({
          target: "/hooks/pay",
          type: "application/json",
          body: "{}",
          headers: {
            "Sec-Fetch-Site": "cross-site",
            Origin: "https://pay.test",
          },
        }),
        f.ran,
        "hook",
      );
      assertPassed(
        await f.send({ target: "/hooks/pay", headers: { Origin: "null" } }),
        f.ran,
        "hook",
      );
    });
    await t.step("other routes are not bypassed", async () => {
      assertRefused(
        await f.send({
          target: "/hooks/../transfer",
          headers: { "Sec-Fetch-Site": "cross-site" },
        }),
        f.ran,
      );
    });
  } finally {
    await f.server.close();
  }
});

Deno.test("csrf() leaves safe methods alone, even cross-site with side effects", async (t) => {
  const f = serveBank([sessionMiddleware(), csrf()]);
  const hostile = { "Sec-Fetch-Site": "cross-site", Origin: "null" };
  try {
    await t.step("GET with a side effect runs", async () => {
      const response = await f.send({
        method: "GET",
        target: "/logout",
        headers: hostile,
      });
      assertPassed(response, f.ran, "logout");
      assert.equal(response.body, "bye");
    });
    await t.step("HEAD and OPTIONS pass", async () => {
      const head = await f.send({
        method: "HEAD",
        target: "/logout",
        headers: hostile,
      });
      assert.equal(head.status, 200);
      f.ran.length = 0;
      const options = await f.send({
        method: "OPTIONS",
        target: "/transfer",
        headers: hostile,
      });
      assert.notEqual(options.status, 403);
      assert.deepEqual(f.ran, []);
    });
  } finally {
    await f.server.close();
  }
});

/**
 * A method override as the API contract describes `methodOverride()`
 * (POST to PUT, PATCH or DELETE only), for the order tests below.
 */
const override: Middleware = (next) => (raw, info) => {
  const method = raw.headers.get("x-http-method-override")?.toUpperCase();
  if (
    raw.method !== "POST" || method === undefined ||
    !["PUT", "PATCH", "DELETE"].includes(method)
  ) {
    return next(raw, info);
  }
  return next(new Request(raw.url, { method, headers: raw.headers }), info);
};

Deno.test("csrf(): a method override gains nothing", async (t) => {
  for (
    const [order, middlewares] of [
      ["no override", [sessionMiddleware(), csrf()]],
      ["override before csrf()", [override, sessionMiddleware(), csrf()]],
      ["override after csrf()", [sessionMiddleware(), csrf(), override]],
    ] as const
  ) {
    const f = serveBank([...middlewares]);
    try {
      await t.step(
        `${order}: a cross-site POST asking for DELETE`,
        async () => {
          assertRefused(
            await f.send({
              target: "/items/7",
              type: URLENCODED,
              body: "_method=DELETE",
              headers: {
                "Sec-Fetch-Site": "cross-site",
                "X-HTTP-Method-Override": "DELETE",
              },
            }),
            f.ran,
          );
        },
      );
      await t.step(`${order}: a GET asking for POST stays a GET`, async () => {
        const response = await f.send({
          method: "GET",
          target: "/transfer?_method=POST&to=eve&amount=1000",
          headers: {
            "Sec-Fetch-Site": "cross-site",
            "X-HTTP-Method-Override": "POST",
          },
        });
        assert.equal(response.status, 200);
        assert.equal(response.body, "the transfer form");
        assert.deepEqual(f.ran, []);
      });
    } finally {
      await f.server.close();
    }
  }
});

Deno.test("csrf() follows the origin useXForwarded() and mount() give the request", async (t) => {
  await t.step(
    "behind a trusted proxy, the forwarded scheme and host",
    async () => {
      const f = serveBank([useXForwarded(), sessionMiddleware(), csrf()]);
      const forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "bank.example",
      };
      try {
        assertPassed(
          await f.send({
            headers: { ...forwarded, Origin: "https://bank.example" },
          }),
          f.ran,
          "transfer",
        );
        for (const origin of ["http://h.test", "http://bank.example"]) {
          assertRefused(
            await f.send({ headers: { ...forwarded, Origin: origin } }),
            f.ran,
          );
        }
      } finally {
        await f.server.close();
      }
    },
  );
  await t.step("mounted under a prefix, the outer host", async () => {
    const f = serveBank(
      [sessionMiddleware(), csrf()],
      (fetch) => mount({ "/bank": fetch }),
    );
    try {
      assertPassed(
        await f.send({
          target: "/bank/transfer",
          headers: { Origin: "http://h.test" },
        }),
        f.ran,
        "transfer",
      );
      assertRefused(
        await f.send({
          target: "/bank/transfer",
          headers: { Origin: "http://x.test" },
        }),
        f.ran,
      );
    } finally {
      await f.server.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Tokens

/** A session cookie and a token of it, from GET /form. */
async function login(f: Fixture): Promise<{ cookie: string; token: string }> {
  const response = await f.send({ method: "GET", target: "/form" });
  assert.equal(response.status, 200);
  const cookie = response.headers.get("set-cookie")!.split(";")[0];
  return { cookie, token: response.body };
}

Deno.test("csrf({ tokens: true }) requires the session's token", async (t) => {
  const f = serveBank([sessionMiddleware(), csrf({ tokens: true })]);
  try {
    const ada = await login(f);
    const eve = await login(f);
    assert.notEqual(ada.cookie, eve.cookie);
    assert.match(ada.token, /^[0-9a-f]{128}$/);

    const post = (headers: Record<string, string>, body: string) =>
      f.send({ type: URLENCODED, body, headers });

    await t.step(
      "the right token in the field passes; the app reads the form",
      async () => {
        const response = await post(
          { Cookie: ada.cookie },
          `to=bob&_csrf=${ada.token}&amount=5`,
        );
        assertPassed(response, f.ran, "transfer");
        assert.equal(response.body, "sent 5 to bob");
      },
    );
    await t.step(
      "the right token in a multipart field; the app reads the form and file",
      async () => {
        const response = await f.send({
          type: MULTIPART,
          headers: { Cookie: ada.cookie },
          body: multipartBody(B, [
            { name: "to", content: "bob" },
            { name: "amount", content: "6" },
            { name: "note", filename: "n.txt", content: "thanks" },
            { name: "_csrf", content: ada.token },
          ]),
        });
        assertPassed(response, f.ran, "transfer");
        assert.equal(response.body, "sent 6 to bob note=thanks");
      },
    );
    await t.step(
      "the right token in X-CSRF-Token passes; the body is untouched",
      async () => {
        const response = await f.send({
          target: "/json",
          type: "application/json",
          body: '{"to":"bob"}',
          headers: { Cookie: ada.cookie, "X-CSRF-Token": ada.token },
        });
        assertPassed(response, f.ran, "json");
        assert.equal(response.body, '{"to":"bob"}');
      },
    );
    await t.step(
      "every token csrfToken() gave the session is accepted",
      async () => {
        const again = await f.send({
          method: "GET",
          target: "/form",
          headers: { Cookie: ada.cookie },
        });
        assert.notEqual(again.body, ada.token, "masked afresh");
        assertPassed(
          await post(
            { Cookie: ada.cookie },
            `to=bob&amount=1&_csrf=${again.body}`,
          ),
          f.ran,
          "transfer",
        );
      },
    );

    const forged: [string, Record<string, string>, string][] = [
      ["no token", { Cookie: ada.cookie }, "to=eve"],
      ["an empty token", { Cookie: ada.cookie }, "to=eve&_csrf="],
      [
        "a forged token",
        { Cookie: ada.cookie },
        `to=eve&_csrf=${"ab".repeat(64)}`,
      ],
      [
        "a token one digit off",
        { Cookie: ada.cookie },
        `to=eve&_csrf=${flip(ada.token)}`,
      ],
      [
        "a token cut short",
        { Cookie: ada.cookie },
        `to=eve&_csrf=${ada.token.slice(0, 127)}`,
      ],
      [
        "a token with more",
        { Cookie: ada.cookie },
        `to=eve&_csrf=${ada.token}0`,
      ],
      [
        "a token in upper case",
        { Cookie: ada.cookie },
        `to=eve&_csrf=${ada.token.toUpperCase()}`,
      ],
      [
        "a token from another session",
        { Cookie: ada.cookie },
        `to=eve&_csrf=${eve.token}`,
      ],
      [
        "the other session's cookie",
        { Cookie: eve.cookie },
        `to=eve&_csrf=${ada.token}`,
      ],
      ["a token with no session", {}, `to=eve&_csrf=${ada.token}`],
      ["a wrong header beats a right field", {
        Cookie: ada.cookie,
        "X-CSRF-Token": eve.token,
      }, `to=eve&_csrf=${ada.token}`],
      ["the token twice in the header", {
        Cookie: ada.cookie,
        "X-CSRF-Token": `${ada.token}, ${ada.token}`,
      }, "to=eve"],
    ];
    for (const [name, headers, body] of forged) {
      await t.step(`${name} is refused`, async () => {
        assertRefused(
          await post(headers, body),
          f.ran,
          "Missing or wrong CSRF token",
        );
      });
    }
    await t.step("a token in a text/plain body is not read", async () => {
      assertRefused(
        await f.send({
          type: "text/plain",
          body: `_csrf=${ada.token}`,
          headers: { Cookie: ada.cookie },
        }),
        f.ran,
        "Missing or wrong CSRF token",
      );
    });
    await t.step(
      "a token in a multipart file part does not count",
      async () => {
        assertRefused(
          await f.send({
            type: MULTIPART,
            headers: { Cookie: ada.cookie },
            body: multipartBody(B, [
              { name: "_csrf", filename: "t.txt", content: ada.token },
            ]),
          }),
          f.ran,
          "Missing or wrong CSRF token",
        );
      },
    );
    await t.step("a token in the query string does not count", async () => {
      assertRefused(
        await f.send({
          target: `/transfer?_csrf=${ada.token}`,
          type: URLENCODED,
          body: "to=eve",
          headers: { Cookie: ada.cookie },
        }),
        f.ran,
        "Missing or wrong CSRF token",
      );
    });
    await t.step(
      "the right token does not make a cross-site post pass",
      async () => {
        assertRefused(
          await post(
            { Cookie: ada.cookie, "Sec-Fetch-Site": "cross-site" },
            `to=eve&_csrf=${ada.token}`,
          ),
          f.ran,
        );
      },
    );
    await t.step("safe methods need no token", async () => {
      const response = await f.send({ method: "GET", target: "/logout" });
      assertPassed(response, f.ran, "logout");
    });
  } finally {
    await f.server.close();
  }
});

function flip(token: string): string {
  const last = token.at(-1) === "0" ? "1" : "0";
  return token.slice(0, -1) + last;
}

Deno.test("csrf({ tokens: true }): bypass skips the token, limits are the ones given", async () => {
  const seen: string[] = [];
  const f = serveBank([
    sessionMiddleware(),
    csrf({
      tokens: true,
      limits: { maxUrlencodedSize: 64 },
      bypass: (request) => {
        seen.push(`${request.method} ${request.pathInfo}`);
        return request.pathInfo === "/hooks/pay";
      },
    }),
  ]);
  try {
    const { cookie, token } = await login(f);
    assertPassed(await f.send({ target: "/hooks/pay" }), f.ran, "hook");
    const big = await f.send({
      type: URLENCODED,
      body: `_csrf=${token}&x=${"a".repeat(100)}`,
      headers: { Cookie: cookie },
    });
    assert.equal(big.status, 413);
    assert.match(big.body, /maxUrlencodedSize/);
    assert.deepEqual(f.ran, []);
    await f.send({ method: "GET", target: "/logout" });
    f.ran.length = 0;
    // Asked once per unsafe request, never for a safe one.
    assert.deepEqual(seen, ["POST /hooks/pay", "POST /transfer"]);
  } finally {
    await f.server.close();
  }
});

Deno.test("csrf() asks bypass only about requests it would refuse", async () => {
  const seen: string[] = [];
  const fetch = csrf({
    bypass: (request) => {
      seen.push(request.pathInfo);
      return false;
    },
  })(() => Promise.resolve(new Response("ok")));
  const post = (path: string, headers: HeadersInit) =>
    fetch(new Request(`http://x.test${path}`, { method: "POST", headers }));
  assert.equal((await post("/a", {})).status, 200);
  assert.equal((await post("/b", { Origin: "http://x.test" })).status, 200);
  assert.equal(
    (await post("/c", { "Sec-Fetch-Site": "same-origin" })).status,
    200,
  );
  assert.equal((await post("/d", { Origin: "http://y.test" })).status, 403);
  assert.deepEqual(seen, ["/d"]);
});

Deno.test("csrf() throws on a bypass that does not return a boolean", async () => {
  const fetch = csrf({
    bypass: (() => Promise.resolve(true)) as unknown as () => boolean,
  })(() => Promise.resolve(new Response("ok")));
  await assert.rejects(
    () =>
      fetch(
        new Request("http://x.test/", {
          method: "POST",
          headers: { "Sec-Fetch-Site": "cross-site" },
        }),
      ),
    {
      name: "TypeError",
      message: /bypass returned a Promise instead of a boolean/,
    },
  );
  assert.throws(
    () => csrf({ bypass: "/hooks" as unknown as () => boolean }),
    TypeError,
  );
});

Deno.test("csrf() validates trusted origins when called", async (t) => {
  const malformed = [
    "https://example.com/",
    "https://example.com/path",
    "https://example.com?x=1",
    "https://example.com#x",
    "https://user@example.com",
    "https://Example.com",
    "https://example.com:443",
    "http://example.com:80",
    "example.com",
    "*.example.com",
    "https://*.example.com",
    "null",
    "",
    "ftp://example.com",
    "chrome-extension://abcdef",
    " https://example.com",
  ];
  for (const origin of malformed) {
    await t.step(JSON.stringify(origin), () => {
      assert.throws(
        () => csrf({ trustedOrigins: [origin] }),
        (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.ok(
            error.message.includes(JSON.stringify(origin)),
            error.message,
          );
          return true;
        },
      );
    });
  }
  await t.step("the message gives the origin browsers send", () => {
    assert.throws(
      () => csrf({ trustedOrigins: ["https://Example.com:443/"] }),
      /\("https:\/\/example\.com"\)/,
    );
  });
  await t.step("well-formed origins", () => {
    csrf({
      trustedOrigins: [
        "https://example.com",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://xn--caf-dma.example",
        "http://127.0.0.1",
      ],
    });
    csrf({ trustedOrigins: new Set(["https://example.com"]) });
  });
  await t.step("a string instead of a list", () => {
    assert.throws(
      () => csrf({ trustedOrigins: "https://example.com" }),
      /must be a list of origins/,
    );
  });
  await t.step("not a string", () => {
    assert.throws(
      () => csrf({ trustedOrigins: [42 as unknown as string] }),
      /trusted origin 42 is malformed/,
    );
  });
});

Deno.test("csrf({ tokens: true }) without sessionMiddleware() names it", async () => {
  const fetch = csrf({ tokens: true })(() =>
    Promise.resolve(new Response("ok"))
  );
  await assert.rejects(
    () => fetch(new Request("http://x.test/", { method: "POST", body: "a=1" })),
    {
      name: "TypeError",
      message: /^Cannot check the CSRF token: .*sessionMiddleware\(\)/,
    },
  );
  // Safe methods never need the session.
  assert.equal((await fetch(new Request("http://x.test/"))).status, 200);
});

Deno.test("csrfToken() needs sessionMiddleware() and a Pesto Request", async () => {
  const alone = new PestoRequest(new Request("http://x.test/"));
  await assert.rejects(() => csrfToken(alone), {
    name: "TypeError",
    message: /^Cannot make a CSRF token: .*sessionMiddleware\(\)/,
  });
  await assert.rejects(
    () => csrfToken(new Request("http://x.test/") as unknown as PestoRequest),
    { name: "TypeError", message: /expected a Pesto Request/ },
  );
});

Deno.test("csrfToken() keeps one secret per session, made on first use", async () => {
  const secrets: unknown[] = [];
  const app = new DispatcherApp();
  app.match("/", "GET", async (request) => {
    const before = request.session.get("pesto.csrf");
    const a = await csrfToken(request);
    const b = await csrfToken(request);
    const secret = request.session.get<string>("pesto.csrf")!;
    secrets.push(secret);
    assert.ok(before === undefined || before === secret);
    assert.match(secret, /^[0-9a-f]{64}$/);
    // Both tokens unmask to the secret: pad XOR (secret XOR pad).
    for (const token of [a, b]) {
      const bytes = token.match(/../g)!.map((h) => parseInt(h, 16));
      const unmasked = bytes.slice(0, 32).map((p, i) => p ^ bytes[32 + i]);
      assert.equal(
        unmasked.map((x) => x.toString(16).padStart(2, "0")).join(""),
        secret,
      );
    }
    assert.notEqual(a, b);
    return new Response("ok");
  });
  const fetch = compose(sessionMiddleware())(app);
  const first = await fetch(new Request("http://x.test/"));
  const cookie = first.headers.get("set-cookie")!.split(";")[0];
  await fetch(new Request("http://x.test/", { headers: { cookie } }));
  await fetch(new Request("http://x.test/"));
  assert.equal(secrets[0], secrets[1], "kept in the session");
  assert.notEqual(secrets[0], secrets[2], "another session, another secret");
});

Deno.test("timingSafeEqual() compares whole strings of any length", () => {
  const cases: [string, string, boolean][] = [
    ["", "", true],
    ["abc", "abc", true],
    ["abc", "abd", false],
    ["xbc", "abc", false],
    ["ab", "abc", false],
    ["abcd", "abc", false],
    ["", "abc", false],
    ["abc", "", false],
    ["abc\0", "abc", false],
    ["abc", "abc\0", false],
    ["\u0100", "\u0000", false],
    ["é", "é", true],
  ];
  for (const [given, expected, equal] of cases) {
    assert.equal(
      timingSafeEqual(given, expected),
      equal,
      `${JSON.stringify(given)} vs ${JSON.stringify(expected)}`,
    );
  }
});

Deno.test("csrf() compares tokens with timingSafeEqual() only", async () => {
  const source = await Deno.readTextFile(
    new URL("../security.ts", import.meta.url),
  );
  assert.match(
    source,
    /import \{ timingSafeEqual \} from "\.\/_security\/timing_safe_equal\.ts";/,
  );
  assert.match(source, /return timingSafeEqual\(unmasked, secret\);/);
  // No other comparison touches the secret (but `=== undefined` and
  // `typeof secret === "string"`).
  assert.doesNotMatch(source, /(===|!==|==|!=)\s*(secret|unmasked)\b/);
  assert.doesNotMatch(
    source,
    /\b(secret|unmasked)\s*(===|!==|==|!=)(?!=)(?!\s*(undefined\b|"))/,
  );
});
