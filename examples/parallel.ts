/**
 * Notes for many cores: the default export is a fetch handler, so
 * `deno serve --parallel` runs one copy of the app per CPU core, all
 * listening on the same port. Nothing lives in a worker's memory: the
 * sessions and the notes are in one Deno KV file that every worker opens.
 *
 *     deno serve --parallel --port 8080 examples/parallel.ts
 *
 * Then open http://localhost:8080/ and log in as `demo` with the password
 * `pesto`; each page says which worker served it. The KV file is
 * `PESTO_KV_PATH`, or `pesto-parallel.kv` in the system's temp directory.
 * `deno serve` takes the permissions it needs like `deno run` (here
 * `--allow-env --allow-read --allow-write` besides the network); Deno KV
 * needs `--unstable-kv`, or `"unstable": ["kv"]` in `deno.json`.
 *
 * For many machines, give `KvSessionStore` the URL of a remote KV database,
 * or use `RedisSessionStore`.
 *
 * @module
 */
import { tmpdir } from "node:os";
import {
  compose,
  DispatcherApp,
  escapeHtml,
  KvSessionStore,
  type Request,
  Response,
  sessionMiddleware,
  useXForwarded,
} from "@pesto/pesto";

/** The demo accounts: user name → password. */
const USERS: Record<string, string> = { demo: "pesto", ada: "lovelace" };

/** A random name for this worker, shown on every page. */
export const worker: string = crypto.randomUUID().slice(0, 8);

function kvPath(): string {
  try {
    const path = Deno.env.get("PESTO_KV_PATH");
    if (path) return path;
  } catch { /* no --allow-env: the default */ }
  return `${tmpdir()}/pesto-parallel.kv`;
}

/** The database every worker shares: sessions and notes. */
const kv = await Deno.openKv(kvPath());

/** The application's routes. */
export const app = new DispatcherApp();

function page(request: Request, body: string): Response {
  const user = request.session.get<string>("user");
  return new Response(`<!doctype html>
<html><head><meta charset="utf-8"><title>Notes</title></head><body>
<h1>Notes</h1>
${
    user
      ? `<form method="post" action="${escapeHtml(logout.url())}">
${csrfField(request)}<button>Log out ${escapeHtml(user)}</button></form>`
      : ""
  }
${body}
<footer>Served by worker <code id="worker">${worker}</code></footer>
</body></html>`);
}

function csrfField(request: Request): string {
  let token = request.session.get<string>("csrf");
  if (!token) {
    token = crypto.randomUUID();
    request.session.set("csrf", token);
  }
  return `<input type="hidden" name="csrf" value="${token}">`;
}

/** The logged-in user, after checking the form's CSRF token. */
async function postingUser(request: Request): Promise<string | undefined> {
  const user = request.session.get<string>("user");
  const token = await request.get("csrf");
  return user && token === request.session.get("csrf") ? user : undefined;
}

/** The login form, or the user's notes and a form to add one. */
export const home = app.match(
  "/",
  "GET",
  async (request): Promise<Response> => {
    const user = request.session.get<string>("user");
    if (!user) {
      return page(
        request,
        `<form method="post" action="${escapeHtml(login.url())}">
<input name="user" placeholder="User (demo)" required>
<input name="password" type="password" placeholder="Password (pesto)" required>
<button>Log in</button></form>`,
      );
    }
    const items: string[] = [];
    for await (
      const { value } of kv.list<string>({ prefix: ["notes", user] })
    ) {
      items.push(`<li>${escapeHtml(value)}</li>`);
    }
    return page(
      request,
      `<ul id="notes">${items.join("")}</ul>
<form method="post" action="${escapeHtml(addNote.url())}">
${csrfField(request)}
<input name="text" placeholder="A note" required maxlength="500">
<button>Add note</button></form>`,
    );
  },
);

/** Who is logged in, and which worker answered: for scripts and tests. */
export const whoami = app.match("/whoami", "GET", (request) =>
  Response.json({
    user: request.session.get<string>("user") ?? null,
    worker,
  }));

/** Logs in, with a new session id. */
export const login = app.match(
  "/login",
  "POST",
  async (request): Promise<Response> => {
    const user = String(await request.get("user") ?? "");
    const password = String(await request.get("password") ?? "");
    if (!Object.hasOwn(USERS, user) || USERS[user] !== password) {
      return page(request, `<p>Wrong user or password.</p>`)
        .replace({ status: 401 });
    }
    request.session.regenerate();
    request.session.set("user", user);
    return Response.redirect(home.url(), 303);
  },
);

/** Logs out. */
export const logout = app.match(
  "/logout",
  "POST",
  async (request): Promise<Response> => {
    if (await postingUser(request)) request.session.invalidate();
    return Response.redirect(home.url(), 303);
  },
);

/** Adds a note, kept in KV under a key that sorts by time. */
export const addNote = app.match(
  "/notes",
  "POST",
  async (request): Promise<Response> => {
    const user = await postingUser(request);
    if (!user) return Response.forbidden();
    const text = await request.get("text");
    if (typeof text !== "string" || !text.trim() || text.length > 500) {
      return Response.badRequest("A note needs 1 to 500 characters");
    }
    const key = ["notes", user, Date.now(), crypto.randomUUID()];
    await kv.set(key, text.trim());
    return Response.redirect(home.url(), 303);
  },
);

/** The app behind its middlewares, with sessions in the shared KV file. */
export const fetch: (
  request: globalThis.Request,
  info?: Deno.ServeHandlerInfo,
) => Promise<globalThis.Response> = compose(
  useXForwarded(),
  sessionMiddleware({ store: new KvSessionStore({ kv }) }),
)(app);

/** What `deno serve` runs: the fetch handler, and a start message. */
export default {
  fetch,
  onListen(addr: Deno.Addr): void {
    const lines = app.routes().map(({ methods, pattern }) =>
      `  ${methods.join(", ").padEnd(10)} ${pattern}`
    );
    if (addr.transport === "tcp") {
      const host = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
      lines.push(`Notes listening on http://${host}:${addr.port}/`);
    }
    console.log(lines.join("\n"));
  },
} satisfies Deno.ServeDefaultExport;
