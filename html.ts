/**
 * HTML without forgetting to escape: the {@linkcode html} tagged template
 * escapes every value it interpolates, so a page written with it never
 * pastes a client's text in as markup.
 *
 * - {@linkcode html} builds an {@linkcode Html} value: strings and numbers
 *   are escaped; arrays are joined; `null`, `undefined` and `false` give
 *   nothing; nested templates and {@linkcode raw} text go in as they are.
 * - `new Response(html\`...\`)` sends it as `text/html; charset=UTF-8`.
 * - {@linkcode escapeHtml} is the escaping itself (`&`, `<`, `>`, `"`,
 *   `'`), for text built another way.
 *
 * Escaping covers text and **quoted** attribute values. A URL is still a
 * URL: check that one from a client is `http:` or `https:` before putting
 * it in `href` (a `javascript:` URL runs when clicked); and keep client text
 * out of `<script>`, `<style>`, event handler attributes and unquoted
 * attribute values, which escaping does not make safe.
 *
 * @example A page
 * ```ts
 * import { type Html, html, raw } from "@pesto/pesto/html";
 * import { DispatcherApp, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const layout = (title: string, body: Html) =>
 *   html`<!doctype html><title>${title}</title>${body}`;
 * const app = new DispatcherApp();
 * app.match("/hello/<name:unicode>", "GET", (_request, { name }) =>
 *   new Response(layout(`Hello ${name}`, html`<h1 class="${name}">${name}</h1>${raw("<hr>")}`)));
 *
 * const r = await app.fetch(new Request("http://x.test/hello/%3Cb%3E"));
 * assert.equal(r.headers.get("content-type"), "text/html; charset=UTF-8");
 * assert.equal(
 *   await r.text(),
 *   '<!doctype html><title>Hello &lt;b&gt;</title><h1 class="&lt;b&gt;">&lt;b&gt;</h1><hr>',
 * );
 * ```
 *
 * @module
 */
export {
  escapeHtml,
  Html,
  html,
  type HtmlValue,
  raw,
} from "./_message/html.ts";
