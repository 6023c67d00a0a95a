// request.accepts() and the Accept parser behind it (_http/accept.ts),
// table-driven in the style of jshttp/negotiator's test/mediaType.js, with
// the example of RFC 9110 section 12.5.1.
import assert from "node:assert/strict";
import { DispatcherApp, Request, Response } from "@pesto/pesto";
import { TestApp } from "@pesto/pesto/testing";
import { acceptableMediaTypes, parseAccept } from "../_http/accept.ts";

/** [Accept header (undefined: none), types offered, acceptable in order]. */
type Row = [string | undefined, string[], string[]];

const TABLE: Row[] = [
  // No Accept header: anything, in the order offered.
  [undefined, ["text/html"], ["text/html"]],
  [undefined, ["application/json", "text/plain"], [
    "application/json",
    "text/plain",
  ]],
  // */*: anything, in the order offered.
  ["*/*", ["text/html", "application/json"], ["text/html", "application/json"]],
  ["*/*", ["application/json", "text/html"], ["application/json", "text/html"]],
  // One type.
  ["application/json", ["application/json"], ["application/json"]],
  ["application/json", ["application/JSON"], ["application/JSON"]],
  ["APPLICATION/Json", ["application/json"], ["application/json"]],
  ["application/json", ["text/html"], []],
  ["application/json", ["text/html", "application/json"], ["application/json"]],
  // q=0 refuses.
  ["application/json;q=0", ["application/json"], []],
  ["application/json;q=0", ["application/json", "text/html", "image/jpeg"], []],
  ["application/json;q=0, */*", ["application/json", "text/html"], [
    "text/html",
  ]],
  // Weights.
  ["application/json;q=0.2, text/html", ["application/json"], [
    "application/json",
  ]],
  ["application/json;q=0.2, text/html", ["application/json", "text/html"], [
    "text/html",
    "application/json",
  ]],
  ["application/json;q=0.2, text/html", ["text/html", "application/json"], [
    "text/html",
    "application/json",
  ]],
  ["application/json, */*;q=0.1", ["text/html", "application/json"], [
    "application/json",
    "text/html",
  ]],
  // Equally specific ranges for one type: the highest weight.
  [
    "application/json;q=0.9, text/html;q=0.8, application/json;q=0.7",
    ["text/html", "application/json"],
    ["application/json", "text/html"],
  ],
  // Wildcard subtypes.
  ["text/*", ["application/json"], []],
  ["text/*", ["application/json", "text/html"], ["text/html"]],
  ["text/*", ["text/html", "application/json", "text/plain"], [
    "text/html",
    "text/plain",
  ]],
  ["text/*, text/plain;q=0", ["text/html", "text/plain"], ["text/html"]],
  ["text/*, text/plain;q=0.5", ["text/html", "text/plain", "text/xml"], [
    "text/html",
    "text/xml",
    "text/plain",
  ]],
  // A more specific range wins over a less specific one, whatever the order.
  ["text/plain;q=0.5, text/*", ["text/plain", "text/html"], [
    "text/html",
    "text/plain",
  ]],
  // Equal weights: the more specific range first, then the client's order,
  // then the order offered.
  [
    "*/*;q=0.8, text/*, image/*",
    [
      "application/json",
      "text/html",
      "text/plain",
      "text/xml",
      "application/xml",
      "image/gif",
      "image/jpeg",
      "image/png",
      "audio/mp3",
      "application/javascript",
      "text/javascript",
    ],
    [
      "text/html",
      "text/plain",
      "text/xml",
      "text/javascript",
      "image/gif",
      "image/jpeg",
      "image/png",
      "application/json",
      "application/xml",
      "audio/mp3",
      "application/javascript",
    ],
  ],
  ["text/*, text/html", ["text/plain", "text/html"], [
    "text/html",
    "text/plain",
  ]],
  ["application/json, text/plain, */*", ["text/plain", "application/json"], [
    "application/json",
    "text/plain",
  ]],
  ["text/plain, application/json;q=0.5, text/html, */*;q=0.1", [
    "application/json",
    "text/html",
    "text/plain",
  ], ["text/plain", "text/html", "application/json"]],
  ["text/plain, application/json;q=0.5, text/html, */*;q=0.1", [
    "image/jpeg",
    "text/html",
    "text/plain",
  ], ["text/plain", "text/html", "image/jpeg"]],
  // Parameters: a range's parameters must be in the type; names and values
  // compare without case; the type may have more.
  ["text/html;level=1", ["text/html;level=1"], ["text/html;level=1"]],
  ["text/html;level=1", ["text/html;Level=1"], ["text/html;Level=1"]],
  ["text/html;LEVEL=1", ["text/html;level=1"], ["text/html;level=1"]],
  ["text/html;level=1", ["text/html;level=2"], []],
  ["text/html;level=1", ["text/html"], []],
  ["text/html;level=1", ["text/html;level=1;foo=bar"], [
    "text/html;level=1;foo=bar",
  ]],
  ["text/html;level=1;foo=bar", ["text/html;level=1"], []],
  ["text/html;level=1;foo=bar", ["text/html;foo=bar;level=1"], [
    "text/html;foo=bar;level=1",
  ]],
  ['text/html;level=1;foo="bar"', ["text/html;level=1;foo=bar"], [
    "text/html;level=1;foo=bar",
  ]],
  ['text/html;level=1;foo="bar"', ['text/html;level=1;foo="bar"'], [
    'text/html;level=1;foo="bar"',
  ]],
  ['text/html;foo=";level=2;"', ["text/html;level=2"], []],
  ['text/html;foo=";level=2;"', ['text/html;foo=";level=2;"'], [
    'text/html;foo=";level=2;"',
  ]],
  // A parameter named twice keeps its last value.
  ["text/html;LEVEL=1;level=2", ["text/html;level=2"], ["text/html;level=2"]],
  ["text/html;LEVEL=1;level=2", ["text/html;level=1"], []],
  ["text/html;level=2, text/html", ["text/html", "text/html;level=2"], [
    "text/html;level=2",
    "text/html",
  ]],
  ["text/html;level=2;q=0.1, text/html", ["text/html;level=2", "text/html"], [
    "text/html",
    "text/html;level=2",
  ]],
  [
    "text/html;level=2;q=0.1, text/html;level=1, text/html;q=0.5",
    ["text/html;level=1", "text/html;level=2", "text/html"],
    ["text/html;level=1", "text/html", "text/html;level=2"],
  ],
  [
    'application/xhtml+xml;profile="http://www.wapforum.org/xhtml"',
    ['application/xhtml+xml;profile="http://www.wapforum.org/xhtml"'],
    ['application/xhtml+xml;profile="http://www.wapforum.org/xhtml"'],
  ],
  // A bare parameter name means nothing.
  ["text/*, text/html;level", ["text/html"], ["text/html"]],
  // Commas and semicolons inside quoted strings.
  [
    'text/html;foo="bar,text/css;";fizz="buzz,5", text/plain',
    [
      "text/css",
      "text/plain",
      "text/html",
      'text/html;fizz="buzz,5";foo="bar,text/css;"',
    ],
    ['text/html;fizz="buzz,5";foo="bar,text/css;"', "text/plain"],
  ],
  // The weight ends the parameters: what follows it is ignored.
  ["text/html;q=0.5;level=1, text/plain;q=0.4", [
    "text/plain",
    "text/html;level=2",
  ], ["text/html;level=2", "text/plain"]],
  // Lenient in: malformed ranges are skipped, never an error.
  ["boom, application/json", ["text/html", "application/json"], [
    "application/json",
  ]],
  ["*/json, text/", ["application/json", "text/plain"], []],
  ["text/html;q=2, text/plain;q=0.5", ["text/html", "text/plain"], [
    "text/plain",
  ]],
  ["text/html;q=abc, */*;q=0.1", ["text/html"], ["text/html"]],
  ["text/html;q=0.0001, text/plain;q=1.000", ["text/html", "text/plain"], [
    "text/plain",
  ]],
  [" text/html ; q = 0.5 , ,, text/plain", ["text/html", "text/plain"], [
    "text/plain",
    "text/html",
  ]],
  // A present but empty header accepts nothing.
  ["", ["text/html"], []],
  // Many types listed.
  [
    "text/plain, application/json;q=0.5, text/html, text/xml, text/yaml, text/javascript, text/csv, text/css, text/rtf, text/markdown, application/octet-stream;q=0.2, */*;q=0.1",
    [
      "text/plain",
      "text/html",
      "text/xml",
      "text/yaml",
      "text/javascript",
      "text/csv",
      "text/css",
      "text/rtf",
      "text/markdown",
      "application/json",
      "application/octet-stream",
    ],
    [
      "text/plain",
      "text/html",
      "text/xml",
      "text/yaml",
      "text/javascript",
      "text/csv",
      "text/css",
      "text/rtf",
      "text/markdown",
      "application/json",
      "application/octet-stream",
    ],
  ],
];

Deno.test("acceptableMediaTypes() orders the offered types as the Accept header prefers", async (t) => {
  for (const [accept, offered, expected] of TABLE) {
    const name = `${accept === undefined ? "no Accept" : `"${accept}"`} of ${
      offered.join(" | ")
    }`;
    await t.step(name, () => {
      assert.deepEqual(acceptableMediaTypes(accept, offered), expected);
    });
  }
});

Deno.test("request.accepts() gives the best of the table's offered types, or undefined", async (t) => {
  for (const [accept, offered, expected] of TABLE) {
    await t.step(`${accept} of ${offered.join(" | ")}`, () => {
      const headers: HeadersInit = accept === undefined ? {} : { accept };
      const request = new Request(
        new globalThis.Request("http://x.test/", { headers }),
      );
      assert.equal(request.accepts(...offered), expected[0]);
    });
  }
});

Deno.test("acceptableMediaTypes() gives the weights of RFC 9110's example", () => {
  // RFC 9110 section 12.5.1: "text/*;q=0.3, text/plain;q=0.7,
  // text/plain;format=flowed, text/plain;format=fixed;q=0.4, */*;q=0.5"
  // gives these weights.
  const accept = "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, " +
    "text/plain;format=fixed;q=0.4, */*;q=0.5";
  const weights: [string, number][] = [
    ["text/plain;format=flowed", 1],
    ["text/plain", 0.7],
    ["text/html", 0.3],
    ["image/jpeg", 0.5],
    ["text/plain;format=fixed", 0.4],
    ["text/html;level=3", 0.3],
  ];
  const order = [...weights].sort((a, b) => b[1] - a[1]).map(([type]) => type);
  assert.deepEqual(
    acceptableMediaTypes(accept, weights.map(([type]) => type)),
    order,
  );
  for (const [type, q] of weights) {
    // Each weight is what it is: a type offered beside a */* of weight q
    // wins over it exactly when its own weight is higher.
    const probe = "probe/x";
    const below = `${accept}, probe/x;q=${(q - 0.05).toFixed(2)}`;
    const above = `${accept}, probe/x;q=${Math.min(q + 0.05, 1).toFixed(2)}`;
    assert.deepEqual(acceptableMediaTypes(below, [probe, type])[0], type, type);
    if (q < 1) {
      assert.equal(acceptableMediaTypes(above, [type, probe])[0], probe, type);
    }
  }
});

Deno.test("parseAccept() reads ranges, parameters and weights", () => {
  const ranges = parseAccept(
    'Text/HTML;Level=1;q=0.5, application/*;charset="UTF-8", */*;q=0',
  );
  assert.deepEqual(ranges.map((r) => [r.type, r.subtype, [...r.params], r.q]), [
    ["text", "html", [["level", "1"]], 0.5],
    ["application", "*", [["charset", "utf-8"]], 1],
    ["*", "*", [], 0],
  ]);
  assert.deepEqual(parseAccept(",,"), []);
  assert.deepEqual(
    parseAccept('text/html;foo="a\\"b"')[0].params.get("foo"),
    'a"b',
  );
});

Deno.test("request.accepts() throws on an offered type that is not a media type", () => {
  const request = new Request(new globalThis.Request("http://x.test/"));
  for (const bad of ["json", "text/", "/html", "text/html;level", "a b/c"]) {
    assert.throws(
      () => request.accepts("text/html", bad),
      (error: unknown) =>
        error instanceof TypeError && error.message.includes(`"${bad}"`),
      bad,
    );
  }
  assert.equal(request.accepts(), undefined);
});

Deno.test("request.accepts() chooses a routed handler's answer", async () => {
  const app = new DispatcherApp();
  app.match("/note", "GET", (request) => {
    switch (request.accepts("text/html", "application/json")) {
      case "text/html":
        return new Response("<p>note</p>");
      case "application/json":
        return Response.json({ note: true });
      default:
        return new Response("Not Acceptable", { status: 406 });
    }
  });
  const client = new TestApp(app);
  assert.equal((await client.get("/note")).text, "<p>note</p>");
  const api = await client.get("/note", {
    headers: { accept: "application/json" },
  });
  assert.deepEqual(api.json(), { note: true });
  const image = await client.get("/note", { headers: { accept: "image/*" } });
  assert.equal(image.status, 406);
});
