/**
 * A small notes app that uses the batteries: login sessions (a new session
 * id on login, invalidated on logout, a CSRF token kept in the session),
 * forms with a file upload, static assets, and ETags.
 *
 *     deno task notes
 *
 * Then open http://localhost:8080/ (or the port in `PORT`) and log in as
 * `demo` with the password `pesto`. Sessions live in memory; set
 * `NOTES_KV_PATH` (a file for Deno KV) or `NOTES_REDIS_URL` to keep them
 * elsewhere. The task grants `--allow-write` because an attachment over
 * `maxFileMemorySize` (64 KiB) is spooled to a temporary file while it
 * arrives; run without it, such an attachment is answered 500 (the log says
 * why, once), and one over the 1 MB limit is still a 413.
 *
 * @module
 */
import {
  compose,
  DispatcherApp,
  escapeHtml,
  KvSessionStore,
  logger,
  MemorySessionStore,
  RedisSessionStore,
  type Request,
  Response,
  serve,
  serveStatic,
  sessionMiddleware,
  type SessionStore,
  useXForwarded,
  withEtag,
} from "@pesto/pesto";

/** The demo accounts: user name → password. */
const USERS: Record<string, string> = { demo: "pesto", ada: "lovelace" };

/** An uploaded attachment, kept in memory. */
interface Attachment {
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

/** A note and its revision (the revision makes its ETag). */
interface Note {
  id: number;
  owner: string;
  title: string;
  text: string;
  rev: number;
  attachment?: Attachment;
}

const notes = new Map<number, Note>();
let lastId = 0;

/** The application's routes: import it to test it or to mount it. */
export const app = new DispatcherApp({
  // Uploads: at most 1 MB per file, 2 MB per form.
  limits: { maxFileSize: 1_000_000, maxMultipartSize: 2_000_000 },
});

function page(request: Request, title: string, body: string): Response {
  const user = request.session.get<string>("user");
  return new Response(`<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${
    escapeHtml(staticFiles.url({ path: "style.css" }))
  }">
</head><body>
<header><img src="${
    escapeHtml(staticFiles.url({ path: "logo.svg" }))
  }" alt=""><h1>${escapeHtml(title)}</h1></header>
${
    user
      ? `<form method="post" action="${escapeHtml(logout.url())}">
${csrfField(request)}<button>Log out ${escapeHtml(user)}</button></form>`
      : ""
  }
${body}
</body></html>`);
}

/** The session's CSRF token, made on first use. */
function csrfToken(request: Request): string {
  let token = request.session.get<string>("csrf");
  if (!token) {
    token = crypto.randomUUID();
    request.session.set("csrf", token);
  }
  return token;
}

function csrfField(request: Request): string {
  return `<input type="hidden" name="csrf" value="${csrfToken(request)}">`;
}

/** The logged-in user, after checking the form's CSRF token on POST. */
async function currentUser(request: Request): Promise<string | undefined> {
  const user = request.session.get<string>("user");
  if (!user) return undefined;
  if (request.method === "POST") {
    const token = await request.get("csrf");
    if (token !== request.session.get("csrf")) return undefined;
  }
  return user;
}

function ownNote(user: string | undefined, id: number): Note | undefined {
  const note = notes.get(id);
  return note && note.owner === user ? note : undefined;
}

/** The home page: the login form, or the user's notes and a form to add one. */
export const home = app.match("/", "GET", (request): Response => {
  const user = request.session.get<string>("user");
  if (!user) {
    return page(
      request,
      "Notes",
      `<form method="post" action="${escapeHtml(login.url())}">
<input name="user" placeholder="User (demo)" required>
<input name="password" type="password" placeholder="Password (pesto)" required>
<button>Log in</button></form>`,
    );
  }
  const list = [...notes.values()].filter((n) => n.owner === user).map((n) =>
    `<div class="note"><a href="${escapeHtml(showNote.url({ id: n.id }))}">${
      escapeHtml(n.title)
    }</a>${n.attachment ? " 📎" : ""}</div>`
  ).join("\n");
  return page(
    request,
    "Your notes",
    `${list || "<p>No notes yet.</p>"}
<form method="post" action="${
      escapeHtml(addNote.url())
    }" enctype="multipart/form-data">
${csrfField(request)}
<input name="title" placeholder="Title" required maxlength="200">
<textarea name="text" rows="4" placeholder="Text"></textarea>
<input name="attachment" type="file">
<button>Add note</button></form>`,
  );
});

/** Logs in: a new session id, so an id known before login is worthless. */
export const login = app.match(
  "/login",
  "POST",
  async (request): Promise<Response> => {
    const user = String(await request.get("user") ?? "");
    const password = String(await request.get("password") ?? "");
    if (!Object.hasOwn(USERS, user) || USERS[user] !== password) {
      return page(
        request,
        "Notes",
        `<p class="error">Wrong user or password.</p><a href="${
          escapeHtml(home.url())
        }">Try again</a>`,
      ).replace({ status: 401 });
    }
    request.session.regenerate();
    request.session.set("user", user);
    return Response.redirect(home.url(), 303);
  },
);

/** Logs out: the session is deleted and its cookie expired. */
export const logout = app.match(
  "/logout",
  "POST",
  async (request): Promise<Response> => {
    if (await currentUser(request)) request.session.invalidate();
    return Response.redirect(home.url(), 303);
  },
);

/** Adds a note from a multipart form, with an optional attachment. */
export const addNote = app.match(
  "/notes",
  "POST",
  async (request): Promise<Response> => {
    const user = await currentUser(request);
    if (!user) return Response.forbidden();
    const form = await request.form();
    const title = form.get("title");
    const text = form.get("text") ?? "";
    if (typeof title !== "string" || !title.trim() || title.length > 200) {
      return Response.badRequest("A note needs a title of 1 to 200 characters");
    }
    const file = form.get("attachment");
    let attachment: Attachment | undefined;
    if (file && typeof file !== "string" && file.filename && file.size > 0) {
      attachment = {
        filename: file.filename,
        contentType: file.contentType || "application/octet-stream",
        bytes: await file.bytes(),
      };
    }
    const note: Note = {
      id: ++lastId,
      owner: user,
      title: title.trim(),
      text: typeof text === "string" ? text : "",
      rev: 1,
      attachment,
    };
    notes.set(note.id, note);
    return Response.redirect(showNote.url({ id: note.id }), 303);
  },
);

/**
 * Shows a note. Its ETag is its id and revision, so a browser that has the
 * page gets a 304 without the page being rendered again.
 */
export const showNote = app.match(
  "/notes/<id:int>",
  "GET",
  (request, { id }): Response => {
    const note = ownNote(request.session.get<string>("user"), id);
    if (!note) return Response.notFound();
    return page(
      request,
      note.title,
      `<div class="note"><p>${
        escapeHtml(note.text).replace(/\r?\n/g, "<br>")
      }</p>${
        note.attachment
          ? `<p><a href="${escapeHtml(attachment.url({ id }))}">${
            escapeHtml(note.attachment.filename)
          }</a> (${note.attachment.bytes.length} bytes)</p>`
          : ""
      }</div>
<form method="post" action="${escapeHtml(deleteNote.url({ id }))}">
${csrfField(request)}<button>Delete</button></form>
<a href="${escapeHtml(home.url())}">All notes</a>`,
    ).addHeader("Cache-Control", "private, no-cache");
  },
  {
    decorators: [
      withEtag((request, { id }) => {
        const note = ownNote(request.session.get<string>("user"), id);
        return note && `${note.id}.${note.rev}`;
      }),
    ],
  },
);

/** Downloads a note's attachment. */
export const attachment = app.match(
  "/notes/<id:int>/attachment",
  "GET",
  (request, { id }): Response => {
    const file = ownNote(request.session.get<string>("user"), id)?.attachment;
    if (!file) return Response.notFound();
    const ascii = file.filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
    return new Response(file.bytes, {
      headers: {
        // As uploaded: no charset is claimed for bytes of unknown encoding.
        "Content-Type": file.contentType,
        "Content-Disposition":
          `attachment; filename="${ascii}"; filename*=UTF-8''${
            encodeURIComponent(file.filename)
          }`,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
      },
    });
  },
);

/** Deletes a note. */
export const deleteNote = app.match(
  "/notes/<id:int>/delete",
  "POST",
  async (request, { id }): Promise<Response> => {
    const note = ownNote(await currentUser(request), id);
    if (!note) return Response.notFound();
    notes.delete(id);
    return Response.redirect(home.url(), 303);
  },
);

/** The stylesheet and the logo, with ETags, Last-Modified and ranges. */
export const staticFiles = app.match(
  "/static/<path:path>",
  "GET",
  serveStatic(new URL("./static", import.meta.url).pathname, {
    cacheControl: "public, max-age=3600",
  }),
);

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env
  }
}

function sessionStore(): SessionStore {
  const redis = env("NOTES_REDIS_URL");
  if (redis) return new RedisSessionStore({ url: redis });
  const kv = env("NOTES_KV_PATH");
  if (kv) return new KvSessionStore({ path: kv });
  return new MemorySessionStore();
}

/** The app behind its middlewares: serve it, or test it with `TestApp`. */
export function makeFetch(
  store: SessionStore = sessionStore(),
): (request: globalThis.Request, info?: Deno.ServeHandlerInfo) => Promise<
  globalThis.Response
> {
  return compose(useXForwarded(), sessionMiddleware({ store }))(app);
}

if (import.meta.main) {
  for (const { methods, pattern } of app.routes()) {
    console.log(`  ${methods.join(", ").padEnd(10)} ${pattern}`);
  }
  serve({ fetch: compose(logger())(makeFetch()) });
}
