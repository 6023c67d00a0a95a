// HTML built from a tagged template that escapes what it interpolates. The
// public face is html.ts; the `Response` takes an `Html` as content
// (content.ts), which is why this lives down here.

/**
 * Text known to be HTML: the result of an {@linkcode html} template or of
 * {@linkcode raw}. Interpolated into another `html` template it goes in as
 * it is; given to `new Response(...)` it is sent with the type
 * `text/html; charset=UTF-8`.
 *
 * @example
 * ```ts
 * import { Html, html } from "@pesto/pesto/html";
 * import assert from "node:assert/strict";
 *
 * const page = html`<p>${"Fish & chips"}</p>`;
 * assert.ok(page instanceof Html);
 * assert.equal(page.toString(), "<p>Fish &amp; chips</p>");
 * assert.equal(`${page}`, "<p>Fish &amp; chips</p>");
 * ```
 */
export class Html {
  readonly #text: string;

  /**
   * Marks `text` as HTML, trusted as it is: the same as
   * {@linkcode raw}`(text)`. Never give it text from a client.
   *
   * @param text HTML.
   *
   * @example
   * ```ts
   * import { Html } from "@pesto/pesto/html";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Html("<br>").toString(), "<br>");
   * ```
   */
  constructor(text: string) {
    this.#text = String(text);
  }

  /**
   * The HTML text.
   *
   * @returns The text.
   *
   * @example
   * ```ts
   * import { html } from "@pesto/pesto/html";
   * import assert from "node:assert/strict";
   *
   * assert.equal(html`<b>${1 + 1}</b>`.toString(), "<b>2</b>");
   * ```
   */
  toString(): string {
    return this.#text;
  }

  /**
   * The HTML text, so that `JSON.stringify` gives it as a string.
   *
   * @returns The text.
   *
   * @example
   * ```ts
   * import { html } from "@pesto/pesto/html";
   * import assert from "node:assert/strict";
   *
   * assert.equal(JSON.stringify({ body: html`<i>${"<"}</i>` }), '{"body":"<i>&lt;</i>"}');
   * ```
   */
  toJSON(): string {
    return this.#text;
  }
}

/**
 * What an {@linkcode html} template interpolates: text and numbers
 * (escaped), {@linkcode Html} (as it is), `null`, `undefined` and `false`
 * (nothing), and arrays or other iterables of these (joined with no
 * separator). `true` is not in the type, so that `${flag}` by mistake is a
 * type error; at run time it gives nothing, as `false` does.
 */
export type HtmlValue =
  | string
  | number
  | bigint
  | false
  | null
  | undefined
  | Html
  | Iterable<HtmlValue>;

/**
 * Builds HTML from a template, escaping every interpolated value: strings
 * and numbers are escaped with {@linkcode escapeHtml}; arrays (and other
 * iterables) are joined with no separator, each item interpolated by the
 * same rules; `null`, `undefined` and booleans give nothing (so
 * `${done && html`<s>done</s>`}` works); {@linkcode Html} values (nested
 * templates, {@linkcode raw}) go in as they are. The template's own text is
 * trusted, as it is code.
 *
 * Escaping makes a value safe in text and in a **quoted** attribute value
 * (`<a title="${title}">`, `<input value='${v}'>`). It does not make safe:
 * an unquoted attribute value; a URL in `href` or `src` (a
 * `javascript:` URL stays one: check the scheme); the inside of `<script>`
 * or `<style>`, or an event handler attribute (`onclick`); a tag or
 * attribute name.
 *
 * @param strings The template's text.
 * @param values The interpolated values.
 * @returns The HTML.
 * @throws {TypeError} When a value is a promise (await it first) or a
 *   symbol.
 *
 * @example A page with a list
 * ```ts
 * import { html } from "@pesto/pesto/html";
 * import { Response } from "@pesto/pesto/response";
 * import assert from "node:assert/strict";
 *
 * const notes = [{ title: "<script>" }, { title: "Tom & Jerry" }];
 * const item = (n: { title: string }) => html`<li title="${n.title}">${n.title}</li>`;
 * const page = html`<ul>${notes.map(item)}</ul>${notes.length === 0 && html`<p>None</p>`}`;
 * assert.equal(
 *   page.toString(),
 *   '<ul><li title="&lt;script&gt;">&lt;script&gt;</li>' +
 *     '<li title="Tom &amp; Jerry">Tom &amp; Jerry</li></ul>',
 * );
 * const response = new Response(page);
 * assert.equal(response.contentType, "text/html; charset=UTF-8");
 * ```
 */
export function html(
  strings: TemplateStringsArray,
  ...values: HtmlValue[]
): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) {
    out += interpolate(values[i]) + strings[i + 1];
  }
  return new Html(out);
}

function interpolate(value: unknown): string {
  if (typeof value === "string") return escapeHtml(value);
  if (value === null || value === undefined || typeof value === "boolean") {
    return "";
  }
  if (typeof value === "number" || typeof value === "bigint") {
    return String(value);
  }
  if (value instanceof Html) return value.toString();
  if (typeof value === "symbol") {
    throw new TypeError("Cannot interpolate a symbol into html");
  }
  if (value instanceof Promise) {
    throw new TypeError(
      "Cannot interpolate a promise into html: await it first",
    );
  }
  if (typeof value === "object" && Symbol.iterator in value) {
    let out = "";
    for (const item of value as Iterable<unknown>) out += interpolate(item);
    return out;
  }
  return escapeHtml(String(value));
}

/**
 * Marks text as HTML, to go into an {@linkcode html} template or a
 * `Response` as it is, unescaped: markup from a trusted source (a
 * sanitiser's output, a rendered Markdown file of your own). Never give it
 * text from a client.
 *
 * @param text Trusted HTML.
 * @returns The same text as {@linkcode Html}.
 *
 * @example
 * ```ts
 * import { html, raw } from "@pesto/pesto/html";
 * import assert from "node:assert/strict";
 *
 * const icon = raw('<svg width="8"></svg>');
 * assert.equal(html`<span>${icon} ${"<b>"}</span>`.toString(), '<span><svg width="8"></svg> &lt;b&gt;</span>');
 * ```
 */
export function raw(text: string): Html {
  return new Html(text);
}

/**
 * Escapes `&`, `<`, `>`, `"` and `'` for HTML text and quoted attribute
 * values. (Backticks and `=` are left: they matter only in unquoted
 * attribute values, where escaping is not enough anyway, and backticks only
 * to Internet Explorer 8 and older.) The {@linkcode html} template calls it
 * on every value it interpolates.
 *
 * @param text Any text.
 * @returns The escaped text.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  // Most text has nothing to escape: skip the replace and its callback.
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPED, escapeOne);
}

function escapeOne(c: string): string {
  return HTML_ESCAPES[c];
}

const NEEDS_ESCAPE = /[&<>"']/;
const ESCAPED = /[&<>"']/g;
const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
