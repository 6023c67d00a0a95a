/**
 * Router benchmarks: the matcher of `DispatcherApp` alone (method and
 * encoded path to the route and its converted params) against Hono's
 * routers and find-my-way, in the same process, on the same route tables
 * and request mixes. Each bench runs a whole request mix; divide by the
 * mix size (in the bench name) for the time per match.
 *
 * Run: `deno bench --allow-all bench/router_bench.ts`
 *
 * @module
 */
import { RegExpRouter } from "hono/router/reg-exp-router";
import { TrieRouter } from "hono/router/trie-router";
import { SmartRouter } from "hono/router/smart-router";
import FindMyWay from "find-my-way";
import { BUILTIN_CONVERTERS } from "../dispatch.ts";
import { parsePattern } from "../_routing/pattern.ts";
import { Router } from "../_routing/router.ts";

/** One route, in Pesto's syntax and in the `:param` syntax of the others. */
interface RouteDef {
  method: string;
  pesto: string;
  colon: string;
}

/** One request of a mix. */
interface Hit {
  method: string;
  path: string;
}

/** Writes a route in both syntaxes from `{name}`, `{name:int}`, `{*}`. */
function route(method: string, template: string): RouteDef {
  return {
    method,
    pesto: template
      .replace(/\{\*\}/g, "<path:path>")
      .replace(/\{(\w+):int\}/g, "<$1:int>")
      .replace(/\{(\w+)\}/g, "<$1:unicode>"),
    colon: template
      .replace(/\{\*\}/g, "*")
      .replace(/\{(\w+)(?::int)?\}/g, ":$1"),
  };
}

// Hono's own router benchmark (benchmarks/routers in honojs/hono).
const honoRoutes: RouteDef[] = [
  route("GET", "/user"),
  route("GET", "/user/comments"),
  route("GET", "/user/avatar"),
  route("GET", "/user/lookup/username/{username}"),
  route("GET", "/user/lookup/email/{address}"),
  route("GET", "/event/{id}"),
  route("GET", "/event/{id}/comments"),
  route("POST", "/event/{id}/comment"),
  route("GET", "/map/{location}/events"),
  route("GET", "/status"),
  route("GET", "/very/deeply/nested/route/hello/there"),
  route("GET", "/static/{*}"),
];
const honoHits: Hit[] = [
  { method: "GET", path: "/user" },
  { method: "GET", path: "/user/comments" },
  { method: "GET", path: "/user/lookup/username/hey" },
  { method: "GET", path: "/event/abcd1234/comments" },
  { method: "POST", path: "/event/abcd1234/comment" },
  { method: "GET", path: "/very/deeply/nested/route/hello/there" },
  { method: "GET", path: "/static/index.html" },
];

// A GitHub-API-like table: static, 1-param, 2-param and wildcard routes,
// and static routes beside param routes at the same place. Static routes
// come first, so first-registered-wins agrees with the static priority of
// the other routers.
const githubRoutes: RouteDef[] = [
  route("GET", "/user"),
  route("GET", "/user/repos"),
  route("GET", "/user/orgs"),
  route("GET", "/user/keys"),
  route("GET", "/user/keys/{id:int}"),
  route("GET", "/users/{user}"),
  route("GET", "/users/{user}/repos"),
  route("GET", "/users/{user}/orgs"),
  route("GET", "/users/{user}/followers"),
  route("GET", "/users/{user}/following/{target}"),
  route("GET", "/orgs/{org}"),
  route("GET", "/orgs/{org}/repos"),
  route("GET", "/orgs/{org}/members"),
  route("GET", "/orgs/{org}/members/{user}"),
  route("GET", "/repos/{owner}/{repo}"),
  route("GET", "/repos/{owner}/{repo}/commits"),
  route("GET", "/repos/{owner}/{repo}/commits/{sha}"),
  route("GET", "/repos/{owner}/{repo}/issues"),
  route("POST", "/repos/{owner}/{repo}/issues"),
  route("GET", "/repos/{owner}/{repo}/issues/{number:int}"),
  route("GET", "/repos/{owner}/{repo}/issues/{number:int}/comments"),
  route("GET", "/repos/{owner}/{repo}/pulls"),
  route("GET", "/repos/{owner}/{repo}/pulls/{number:int}"),
  route("GET", "/repos/{owner}/{repo}/releases"),
  route("GET", "/repos/{owner}/{repo}/releases/latest"),
  route("GET", "/repos/{owner}/{repo}/releases/{id:int}"),
  route("GET", "/repos/{owner}/{repo}/branches"),
  route("GET", "/repos/{owner}/{repo}/branches/{branch}"),
  route("GET", "/repos/{owner}/{repo}/tags"),
  route("GET", "/repos/{owner}/{repo}/contents/{*}"),
  route("GET", "/gists"),
  route("GET", "/gists/public"),
  route("GET", "/gists/starred"),
  route("GET", "/gists/{id}"),
  route("GET", "/search/repositories"),
  route("GET", "/search/code"),
  route("GET", "/emojis"),
  route("GET", "/rate_limit"),
];
const githubHits: Hit[] = [
  { method: "GET", path: "/user" },
  { method: "GET", path: "/user/repos" },
  { method: "GET", path: "/users/octocat/repos" },
  { method: "GET", path: "/orgs/denoland/members/ry" },
  { method: "GET", path: "/repos/denoland/deno" },
  { method: "POST", path: "/repos/denoland/deno/issues" },
  { method: "GET", path: "/repos/denoland/deno/issues/1234/comments" },
  { method: "GET", path: "/repos/denoland/deno/releases/latest" },
  { method: "GET", path: "/repos/denoland/deno/releases/98765" },
  { method: "GET", path: "/repos/denoland/deno/contents/cli/tools/mod.rs" },
  { method: "GET", path: "/gists/public" },
  { method: "GET", path: "/gists/aa5a315d61ae9438b18d" },
];

// 1,000 routes: 962 generated ones registered first, then the GitHub
// table; the GitHub mix again, so only the table size differs.
const generated: RouteDef[] = [];
for (let i = 0; generated.length < 1000 - githubRoutes.length; i++) {
  // The literal route first: after `/svc{i}/{id}` it could never be reached
  // (DispatcherApp refuses that order).
  const shapes = [
    `/svc${i}`,
    `/svc${i}/search`,
    `/svc${i}/{id}`,
    `/svc${i}/{id}/items`,
    `/svc${i}/{id}/items/{item:int}`,
    `/svc${i}/{id}/settings/{key}`,
  ];
  for (const shape of shapes) {
    if (generated.length < 1000 - githubRoutes.length) {
      generated.push(route(i % 3 === 0 ? "POST" : "GET", shape));
    }
  }
}
const bigRoutes = [...generated, ...githubRoutes];

type Matcher = (method: string, path: string) => unknown;

function pesto(routes: RouteDef[]): Matcher {
  const router = new Router<string>();
  for (const r of routes) {
    router.add(
      parsePattern(r.pesto, BUILTIN_CONVERTERS),
      new Set([r.method]),
      r.pesto,
    );
  }
  return (method, path) => router.find(method, path);
}

function hono(
  make: () => {
    add(method: string, path: string, handler: string): void;
    match(method: string, path: string): unknown;
  },
  routes: RouteDef[],
  hits: Hit[],
): Matcher | undefined {
  const router = make();
  try {
    for (const r of routes) router.add(r.method, r.colon, r.colon);
    for (const hit of hits) router.match(hit.method, hit.path);
  } catch {
    return undefined; // The router refuses this table.
  }
  return (method, path) => router.match(method, path);
}

function findMyWay(routes: RouteDef[]): Matcher {
  const router = FindMyWay();
  for (const r of routes) {
    router.on(r.method as "GET", r.colon, () => {});
  }
  return (method, path) => router.find(method as "GET", path);
}

/** Checks that a matcher finds a route for every request of the mix. */
function verified(name: string, matcher: Matcher, hits: Hit[]): Matcher {
  for (const hit of hits) {
    const result = matcher(hit.method, hit.path) as
      | null
      | undefined
      | [unknown[]];
    const empty = result == null ||
      (Array.isArray(result) && Array.isArray(result[0]) &&
        result[0].length === 0);
    if (empty) throw new Error(`${name}: no route for ${hit.path}`);
  }
  return matcher;
}

let sink = 0;

function group(
  name: string,
  routes: RouteDef[],
  hits: Hit[],
  baseline: string,
): void {
  const matchers: [string, Matcher | undefined][] = [
    ["Pesto Router", pesto(routes)],
    ["Hono RegExpRouter", hono(() => new RegExpRouter(), routes, hits)],
    ["Hono TrieRouter", hono(() => new TrieRouter(), routes, hits)],
    [
      "Hono SmartRouter",
      hono(
        () =>
          new SmartRouter({
            routers: [new RegExpRouter(), new TrieRouter()],
          }),
        routes,
        hits,
      ),
    ],
    ["find-my-way", findMyWay(routes)],
  ];
  const label = `${name} (${routes.length} routes, ${hits.length} requests)`;
  for (const [router, matcher] of matchers) {
    if (matcher === undefined) {
      console.log(`${label}: ${router} refuses this table`);
      continue;
    }
    const match = verified(`${label}: ${router}`, matcher, hits);
    Deno.bench({
      name: `${router} × ${hits.length}`,
      group: label,
      baseline: router === baseline,
      fn() {
        for (let i = 0; i < hits.length; i++) {
          if (match(hits[i].method, hits[i].path) !== undefined) sink++;
        }
      },
    });
  }
}

group("Hono's set", honoRoutes, honoHits, "Hono RegExpRouter");
group("GitHub-like", githubRoutes, githubHits, "find-my-way");
group("1,000 routes", bigRoutes, githubHits, "find-my-way");

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
