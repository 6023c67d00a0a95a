// `overlay()`: apps tried in turn until one does not answer 404.
import { cloneRequest } from "../_message/record.ts";
import {
  asFetch,
  type DualHandler,
  type FetchApp,
  fetchEntry,
  type PestoHandlerNeedsToHandler,
} from "../_handler.ts";

/**
 * Tries apps in turn and returns the first answer that is not a 404
 * (Pesto's `overlay`); when every app answers 404, the last app's 404. Each
 * app but the last gets a copy of the request, so each can read the body.
 *
 * @param apps Fetch handlers, or objects with `fetch`.
 * @returns A fetch handler.
 * @throws {TypeError} When no app is given, or one has no fetch handler.
 *
 * @example
 * ```ts
 * import { DispatcherApp, overlay, Response } from "@pesto/pesto";
 * import assert from "node:assert/strict";
 *
 * const pages = new DispatcherApp();
 * pages.match("/about", "GET", () => new Response("about"));
 * const fallback = (_: Request) => Promise.resolve(new Response("fallback"));
 * const fetch = overlay(pages, fallback);
 * assert.equal(await (await fetch(new Request("http://x.test/about"))).text(), "about");
 * assert.equal(await (await fetch(new Request("http://x.test/other"))).text(), "fallback");
 * ```
 */
export function overlay(
  ...apps: (FetchApp | PestoHandlerNeedsToHandler)[]
): DualHandler {
  if (apps.length === 0) {
    throw new TypeError("Cannot overlay: give at least one app");
  }
  const fetches = apps.map((app, i) => asFetch(app, `overlay() app ${i}`));
  return fetchEntry(async (raw, info) => {
    for (let i = 0; i < fetches.length - 1; i++) {
      const response = await fetches[i](cloneRequest(raw), info);
      if (response.status !== 404) {
        raw.body?.cancel().catch(() => {});
        return response;
      }
      response.body?.cancel().catch(() => {});
    }
    return await fetches[fetches.length - 1](raw, info);
  });
}
