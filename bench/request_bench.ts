/**
 * Request parsing — query strings, urlencoded bodies and cookies — next to
 * the nearest web built-in and Hono's own parsers, in one run.
 *
 *     deno bench --allow-all bench/request_bench.ts
 *
 * Multipart bodies have their own file, `multipart_bench.ts`.
 *
 * @module
 */
import { parse as honoParseCookie } from "hono/utils/cookie";
import { getQueryParams as honoQueryParams } from "hono/utils/url";
import {
  parseCookieHeader,
  parseQuery,
  Request as PestoRequest,
} from "@pesto/pesto";

const QUERY =
  "q=pesto+genovese&page=2&tag=basil&tag=garlic&sort=desc&lang=it&caff%C3%A8=latte";
const URL_WITH_QUERY = `http://localhost/search?${QUERY}`;
const FORM = "name=Ada+Lovelace&email=ada%40example.com&remember=on&bio=" +
  "x".repeat(200) +
  "&tags=a&tags=b&tags=c";
const COOKIE =
  "sid=6f1c2e0a9b8d7c6e5f4a3b2c1d0e9f8a; theme=dark; lang=fr-CH; consent=%7B%22ads%22%3Afalse%7D; " +
  "_ga=GA1.2.1234567890.1234567890; cart=3";

Deno.bench("URLSearchParams: query", { group: "query" }, () => {
  const params = new URLSearchParams(QUERY);
  params.getAll("tag");
});
Deno.bench("Hono getQueryParams: query", { group: "query" }, () => {
  honoQueryParams(URL_WITH_QUERY);
});
Deno.bench(
  "Pesto parseQuery: query",
  { group: "query", baseline: true },
  () => {
    parseQuery(QUERY).getAll("tag");
  },
);

Deno.bench(
  "Pesto Request.query (URL to values)",
  { group: "request query" },
  () => {
    new PestoRequest(new Request(URL_WITH_QUERY)).query.get("q");
  },
);
Deno.bench("web URL.searchParams (URL to values)", {
  group: "request query",
  baseline: true,
}, () => {
  new URL(URL_WITH_QUERY).searchParams.get("q");
});

const encoder = new TextEncoder();
const formBytes = encoder.encode(FORM);
Deno.bench(
  "web Request.formData(): urlencoded",
  { group: "urlencoded" },
  async () => {
    const request = new Request("http://localhost/", {
      method: "POST",
      body: formBytes,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    (await request.formData()).get("name");
  },
);
Deno.bench(
  "URLSearchParams(await text()): urlencoded",
  { group: "urlencoded" },
  async () => {
    const request = new Request("http://localhost/", {
      method: "POST",
      body: formBytes,
    });
    new URLSearchParams(await request.text()).get("name");
  },
);
Deno.bench("Pesto Request.form(): urlencoded", {
  group: "urlencoded",
  baseline: true,
}, async () => {
  const request = new PestoRequest(
    new Request("http://localhost/", {
      method: "POST",
      body: formBytes,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }),
  );
  (await request.form()).get("name");
});

Deno.bench("Hono cookie parse", { group: "cookies" }, () => {
  honoParseCookie(COOKIE);
});
Deno.bench(
  "Pesto parseCookieHeader",
  { group: "cookies", baseline: true },
  () => {
    parseCookieHeader(COOKIE).get("sid");
  },
);

const BROWSER_ACCEPT =
  "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const ACCEPTING = new PestoRequest(
  new Request("http://localhost/", {
    headers: { accept: BROWSER_ACCEPT },
  }),
);

Deno.bench("Pesto request.accepts(): a browser's Accept", {
  group: "accept",
}, () => {
  ACCEPTING.accepts("application/json", "text/html");
});
