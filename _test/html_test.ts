// html`...`, raw() and escapeHtml: hostile values in text and in quoted
// attribute values, nested templates, arrays, and Html as response content.
import assert from "node:assert/strict";
import {
  DispatcherApp,
  escapeHtml as escapeFromMod,
  Response,
} from "@pesto/pesto";
import { escapeHtml as escapeFromResponse } from "@pesto/pesto/response";
import { escapeHtml, Html, html, raw } from "@pesto/pesto/html";
import { TestApp } from "@pesto/pesto/testing";

/** Strings that break out of text or a quoted attribute when not escaped. */
const HOSTILE = [
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  "</textarea><svg onload=alert(1)>",
  "&lt;already escaped&gt;",
  "&#x3C;script&#x3E;",
  "<!--",
  "]]>",
  "a\u0000b\u2028c",
];

/**
 * The text a browser gives back for `escaped` as an attribute value or text
 * (the five entities this library writes, decoded).
 */
function unescape(escaped: string): string {
  return escaped.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_, name) =>
      ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[
        name as string
      ]!,
  );
}

Deno.test("html escapes hostile strings in text: no tag, no entity survives", () => {
  for (const value of HOSTILE) {
    const out = html`<p>${value}</p>`.toString();
    const inner = out.slice(3, -4);
    assert.doesNotMatch(inner, /[<>"']/, value);
    assert.doesNotMatch(inner, /&(?!amp;|lt;|gt;|quot;|#39;)/, value);
    assert.equal(unescape(inner), value);
  }
});

Deno.test("html escapes hostile strings in double- and single-quoted attribute values", () => {
  for (const value of HOSTILE) {
    const double = html`<a title="${value}" href="/x">t</a>`.toString();
    const match = /^<a title="([^"]*)" href="\/x">t<\/a>$/.exec(double);
    assert.ok(match, `broke out of "": ${double}`);
    assert.equal(unescape(match[1]), value);
    const single = html`<input value='${value}' name=q>`.toString();
    const m2 = /^<input value='([^']*)' name=q>$/.exec(single);
    assert.ok(m2, `broke out of '': ${single}`);
    assert.equal(unescape(m2[1]), value);
  }
});

Deno.test("html escapes exactly & < > \" and ', and leaves backticks and =", () => {
  assert.equal(
    html`${`&<>"'\`=`}`.toString(),
    "&amp;&lt;&gt;&quot;&#39;`=",
  );
  assert.equal(escapeHtml("a=b&c"), "a=b&amp;c");
  assert.equal(escapeHtml("plain text"), "plain text");
  assert.equal(escapeHtml(""), "");
});

Deno.test("html interpolates numbers, and nothing for null, undefined and booleans", () => {
  const missing: string | null | undefined = undefined;
  const flag = 1 > 2;
  assert.equal(
    html`${0}|${-1.5}|${10n}|${null}|${missing}|${false}|${flag && "x"}|`
      .toString(),
    "0|-1.5|10|||||",
  );
  // `true` is not in HtmlValue (a ${flag} slip), and gives nothing at run time.
  // @ts-expect-error true is not an HtmlValue
  assert.equal(html`[${true}]`.toString(), "[]");
});

Deno.test("html keeps nested templates and raw() as they are, escaping once", () => {
  const name = "<Ada & Bob>";
  const inner = html`<b>${name}</b>`;
  const outer = html`<p>${inner} ${raw("<hr>")} ${"<hr>"}</p>`;
  assert.equal(
    outer.toString(),
    "<p><b>&lt;Ada &amp; Bob&gt;</b> <hr> &lt;hr&gt;</p>",
  );
  // Three levels deep, still escaped once.
  const deep = html`<div>${html`<section>${outer}</section>`}</div>`;
  assert.equal(
    deep.toString(),
    "<div><section><p><b>&lt;Ada &amp; Bob&gt;</b> <hr> &lt;hr&gt;</p></section></div>",
  );
});

Deno.test("html joins arrays with no separator, each item by the same rules", () => {
  const notes = ["<a>", "b & c", "d"];
  const list = html`<ul>${notes.map((n) => html`<li>${n}</li>`)}</ul>`;
  assert.equal(
    list.toString(),
    "<ul><li>&lt;a&gt;</li><li>b &amp; c</li><li>d</li></ul>",
  );
  assert.equal(
    html`${["<", 1, null, false, raw("<br>"), [["&", html`<i>`]]]}`.toString(),
    "&lt;1<br>&amp;<i>",
  );
  assert.equal(html`${[]}`.toString(), "");
  function* gen() {
    yield "<x>";
    yield html`<y>`;
  }
  assert.equal(html`${gen()}`.toString(), "&lt;x&gt;<y>");
  assert.equal(html`${new Set(["a", "<"])}`.toString(), "a&lt;");
});

Deno.test("html refuses promises and symbols, and escapes other objects' text", () => {
  assert.throws(
    // @ts-expect-error a promise is not an HtmlValue
    () => html`${Promise.resolve("x")}`,
    (error: unknown) =>
      error instanceof TypeError && /await/.test(error.message),
  );
  assert.throws(
    // @ts-expect-error a symbol is not an HtmlValue
    () => html`${Symbol("s")}`,
    TypeError,
  );
  const url = new URL("https://x.test/?a=1&b=<2>");
  // @ts-expect-error a URL is not an HtmlValue: give url.href
  assert.equal(html`${url}`.toString(), escapeHtml(url.href));
});

Deno.test("Html: toString(), template literals, JSON and raw()", () => {
  const page = html`<p>${"x"}</p>`;
  assert.ok(page instanceof Html);
  assert.equal(`${page}`, "<p>x</p>");
  assert.equal(String(page), "<p>x</p>");
  assert.equal(JSON.stringify([page]), '["<p>x</p>"]');
  assert.ok(raw("<b>") instanceof Html);
  assert.equal(raw("<b>").toString(), "<b>");
  assert.equal(new Html("<i>").toString(), "<i>");
  // A template with no values is its text.
  assert.equal(html`<br>`.toString(), "<br>");
});

Deno.test("escapeHtml is the same function from mod.ts, response.ts and html.ts", () => {
  assert.equal(escapeFromMod, escapeHtml);
  assert.equal(escapeFromResponse, escapeHtml);
});

Deno.test("new Response(html`...`) sends the HTML as text/html; charset=UTF-8", async (t) => {
  const page = html`<h1>${"Caf\u00e9 <&>"}</h1>`;
  await t.step("plain", async () => {
    const r = new Response(page);
    assert.equal(r.headers.get("content-type"), "text/html; charset=UTF-8");
    assert.equal(await r.text(), "<h1>Caf\u00e9 &lt;&amp;&gt;</h1>");
  });
  await t.step("with a status and headers", async () => {
    const r = new Response(page, {
      status: 201,
      headers: { "X-A": "1" },
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("content-type"), "text/html; charset=UTF-8");
    assert.equal(r.headers.get("x-a"), "1");
    assert.equal(await r.text(), "<h1>Caf\u00e9 &lt;&amp;&gt;</h1>");
  });
  await t.step("a given content type and charset win", async () => {
    const r = new Response(page, {
      contentType: "application/xhtml+xml",
      charset: "ISO-8859-1",
    });
    assert.equal(
      r.headers.get("content-type"),
      "application/xhtml+xml; charset=ISO-8859-1",
    );
    assert.deepEqual(
      new Uint8Array(await r.arrayBuffer()).slice(4, 8),
      new Uint8Array([0x43, 0x61, 0x66, 0xe9]),
    );
  });
  await t.step("buffered() and replace() keep it", async () => {
    const buffered = await new Response(page).buffered();
    assert.equal(
      buffered.headers.get("content-length"),
      String(new TextEncoder().encode(page.toString()).byteLength),
    );
    const replaced = new Response("old").replace({ content: page });
    assert.equal(await replaced.text(), page.toString());
  });
  await t.step("from a routed handler, HEAD included", async () => {
    const app = new DispatcherApp();
    app.match(
      "/p/<name:unicode>",
      "GET",
      (_request, { name }) =>
        new Response(html`<p title="${name}">${name}</p>`),
    );
    const client = new TestApp(app);
    const r = await client.get("/p/%22%3E%3Cscript%3E");
    assert.equal(r.getHeader("content-type"), "text/html; charset=UTF-8");
    assert.equal(
      r.text,
      '<p title="&quot;&gt;&lt;script&gt;">&quot;&gt;&lt;script&gt;</p>',
    );
    const head = await client.head("/p/x");
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    assert.equal(head.getHeader("content-length"), "18"); // <p title="x">x</p>
  });
});
