// `mount()`: several apps under path prefixes (Pesto's `mount_app`).
import { parseTarget } from "../_http/path.ts";
import { unreadableTarget } from "../_message/errors.ts";
import { deriveRequest, hostOf } from "../_message/record.ts";
import { Response } from "../_message/response.ts";
import {
  asFetch,
  type DualHandler,
  type FetchApp,
  fetchEntry,
  type PestoHandlerNeedsToHandler,
} from "../_handler.ts";

/**
 * Serves several apps under path prefixes (Pesto's `mount_app`). The
 * longest prefix that matches whole path segments wins (`/app` matches
 * `/app` and `/app/x`, not `/apple`); `"/"` catches everything else;
 * nothing matching is a 404.
 *
 * The mounted app gets a request whose URL has the prefix stripped, so any
 * fetch handler (Hono, another framework) works unchanged; a Pesto app also
 * sees the full `requestUri`, `scriptName` set to the prefix (added to any
 * it had) and `pathInfo` the rest, so the URLs it builds include the
 * prefix. Prefixes are matched against the decoded canonical path: a
 * malformed target is a 400.
 *
 * @param apps Fetch handlers, or objects with `fetch`, by prefix.
 * @returns A fetch handler.
 * @throws {TypeError} When a prefix does not start with `/`, or an app has
 *   no fetch handler.
 *
 * @example
 * ```ts
 * import { DispatcherApp, mount, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const blog = new DispatcherApp();
 * const post = blog.match("/posts/<id:int>", "GET", (request, { id }): Response =>
 *   new Response(`${request.scriptName} ${request.pathInfo} ${post.url({ id })}`));
 * const fetch = mount({
 *   "/blog": blog,
 *   "/raw": (request) => Promise.resolve(new Response(new URL(request.url).pathname)),
 * });
 * const r = await fetch(new Request("http://x.test/blog/posts/7"));
 * assert.equal(await r.text(), "/blog /posts/7 http://x.test/blog/posts/7");
 * assert.equal(await (await fetch(new Request("http://x.test/raw/a/b"))).text(), "/a/b");
 * assert.equal((await fetch(new Request("http://x.test/other"))).status, 404);
 * ```
 */
export function mount(
  apps: Record<string, FetchApp | PestoHandlerNeedsToHandler>,
): DualHandler {
  const mounts = Object.entries(apps).map(([prefix, app]) => {
    if (prefix !== "" && !prefix.startsWith("/")) {
      throw new TypeError(
        `Cannot mount "${prefix}": a prefix must start with "/"`,
      );
    }
    const segments = prefix.split("/").filter((s) => s !== "");
    return {
      segments,
      scriptName: "/" + segments.join("/"),
      fetch: asFetch(app, `mount() at "${prefix}"`),
    };
  }).sort((a, b) => b.segments.length - a.segments.length);

  return fetchEntry(async (raw, info, record) => {
    let target;
    try {
      target = parseTarget(raw.url, hostOf(raw, record));
    } catch (error) {
      return unreadableTarget(error);
    }
    // The encoded canonical path has one encoded segment per decoded one.
    let split: string[] | undefined;
    const encoded = () =>
      split ??= target.path.split("/").filter((s) => s !== "");
    const segments = target.segments ?? encoded();
    for (const entry of mounts) {
      const n = entry.segments.length;
      if (n > segments.length) continue;
      if (!entry.segments.every((s, i) => s === segments[i])) continue;
      if (n === 0) return await entry.fetch(raw, info);
      const rest = encoded().slice(n).join("/");
      const path = "/" + rest +
        (target.trailingSlash && rest !== "" ? "/" : "");
      const url = `${target.scheme}://${target.host}${path}${
        target.search ? "?" + target.search : ""
      }`;
      const derived = deriveRequest(raw, url, {
        url: record.url ?? raw.url,
        scriptName: (record.scriptName ?? "") + entry.scriptName,
      });
      return await entry.fetch(derived, info);
    }
    return Response.notFound();
  });
}
