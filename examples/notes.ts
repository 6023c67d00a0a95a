/**
 * A small notes app that uses the batteries: login sessions (a new session
 * id on login, invalidated on logout, a CSRF token kept in the session),
 * pages written with the `html` template, forms validated by a schema,
 * flash messages, a file upload, a list of notes kept live by server-sent
 * events, error pages in the app's own layout, the security stack (origin
 * check, secure headers, compression, a rate-limited login), static assets,
 * and ETags.
 *
 *     deno task notes
 *
 * Then open http://localhost:8080/ (or the port in `PORT`) and log in as
 * `demo` with the password `pesto`. Sessions live in memory; set
 * `NOTES_KV_PATH` (a file for Deno KV) or `NOTES_REDIS_URL` to keep them
 * elsewhere; `NOTES_LOGIN_LIMIT` sets the login tries allowed a minute per
 * client (10; `0` for none). The task grants `--allow-write` because an attachment over
 * `maxFileMemorySize` (64 KiB) is spooled to a temporary file while it
 * arrives; run without it, such an attachment is answered 500 (the log says
 * why, once), and one over the 1 MB limit is still a 413.
 *
 * @module
 */
import {
  compose,
  csrf,
  DispatcherApp,
  type Flash,
  type Html,
  html,
  HttpError,
  KvSessionStore,
  logger,
  MemorySessionStore,
  rateLimit,
  RedisSessionStore,
  type Request,
  Response,
  serve,
  serveStatic,
  sessionMiddleware,
  type SessionStore,
  toHandler,
  useXForwarded,
  ValidationError,
  withEtag,
} from "@pesto/pesto";
import { fromHono } from "@pesto/pesto/hono";
import { compress } from "hono/compress";
import { secureHeaders } from "hono/secure-headers";
import { z } from "zod";

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

/** Uploads: at most 1 MB per file, 2 MB per form. */
const LIMITS = { maxFileSize: 1_000_000, maxMultipartSize: 2_000_000 };

/** `bytes` for people: "1 MB", "64 kB", "512 bytes". */
function size(bytes: number): string {
  if (bytes >= 1_000_000) return `${+(bytes / 1_000_000).toFixed(1)} MB`;
  if (bytes >= 1_000) return `${+(bytes / 1_000).toFixed(1)} kB`;
  return `${bytes} bytes`;
}

/** The title of an error page, by status. */
const ERROR_TITLES: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Too Large",
  500: "Internal Server Error",
};

/** What an error page says, for people, by status. */
function errorMessage(error: HttpError): string {
  switch (error.status) {
    case 400:
      return "Your browser sent something we could not understand.";
    case 403:
      return "You are not allowed to do that.";
    case 404:
      return "There is no such page.";
    case 405:
      return "That page cannot be used that way.";
    case 408:
      return "What you sent took too long to arrive. Please try again.";
    case 411:
      return "Your browser did not say how much it was sending.";
    case 413:
      if (/\(maxFileSize\)/.test(error.message)) {
        return `That file is too large: the limit is ${
          size(LIMITS.maxFileSize)
        }.`;
      }
      if (/\(maxMultipartSize\)/.test(error.message)) {
        return `That form is too large: the limit is ${
          size(LIMITS.maxMultipartSize)
        }.`;
      }
      return "What you sent is too large.";
    default:
      return error.status >= 500
        ? "Something went wrong on our side. Please try again later."
        : error.message;
  }
}

/**
 * Every error page of the app (the library's 400, 404, 405, 408, 411, 413
 * and 500, and the `HttpError`s the handlers throw): the app's layout, a
 * message for people and a link back. The library keeps the status and
 * the error's headers (a 405's `Allow`).
 */
export function errorPage(error: HttpError, request: Request): Response {
  return new Response(layout(
    request,
    ERROR_TITLES[error.status] ?? "Sorry",
    html`<p class="error">${errorMessage(error)}</p>
<p><a class="back" href="${home.url()}">Back to your notes</a></p>`,
  ));
}

/** The application's routes: import it to test it or to mount it. */
export const app = new DispatcherApp({ limits: LIMITS, errorPage });

/** The user of the session, if logged in. */
function sessionUser(request: Request): string | undefined {
  try {
    return request.session.get<string>("user");
  } catch {
    return undefined; // a request that did not go through the sessions
  }
}

/** The page around every page's body: title, header, the logout button. */
function layout(
  request: Request,
  title: string,
  body: Html,
  flashes: Flash[] = [],
): Html {
  const user = sessionUser(request);
  return html`
    <!doctype html>
    <html>
      <head>
        <meta charset="utf-8">
        <title>${title}</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="stylesheet" href="${staticFiles.url({ path: "style.css" })}">
      </head>
      <body>
    <header><img src="${staticFiles.url({
      path: "logo.svg",
    })}" alt=""><h1>${title}</h1></header>
    ${user &&
      html`<form method="post" action="${logout.url()}">
${csrfField(request)}<button>Log out ${user}</button></form>`}
    ${flashes.map((flash) =>
      html`<p class="flash ${flash.category}" role="status">${flash.message}</p>`
    )}
    ${body}
      </body>
    </html>
  `;
}

/** A page: the layout, with the flash messages left for it (shown once). */
async function page(
  request: Request,
  title: string,
  body: Html,
): Promise<Response> {
  const flashes = await request.session.takeFlashes();
  const response = new Response(layout(request, title, body, flashes));
  // A page showing a flash is not kept: a reload must not show it again.
  return flashes.length
    ? response.addHeader("Cache-Control", "no-store")
    : response;
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

function csrfField(request: Request): Html {
  return html`<input type="hidden" name="csrf" value="${csrfToken(request)}">`;
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

// ---------------------------------------------------------------------------
// Live updates: who is watching whose notes

/** The listeners of each user's streams, called when their notes change. */
const watchers = new Map<string, Set<() => void>>();

/** How many streams are open on `user`'s notes (for tests). */
export function liveWatchers(user: string): number {
  return watchers.get(user)?.size ?? 0;
}

/** Tells every stream open on `user`'s notes that they changed. */
function notify(user: string): void {
  for (const listener of watchers.get(user) ?? []) listener();
}

/** What a stream sends: the user's notes, as the home page lists them. */
function noteList(user: string) {
  return [...notes.values()].filter((n) => n.owner === user).map((n) => ({
    title: n.title,
    url: showNote.url({ id: n.id }),
    attachment: n.attachment !== undefined,
  }));
}

/**
 * The events of `user`'s notes: the list now, then the list again after
 * each change. Not a generator: `return()`, which the event stream calls
 * when the client goes away, unsubscribes at once, even while waiting for
 * a change (a generator's `return()` would wait for that change first).
 */
function noteEvents(user: string): AsyncIterableIterator<NotesEvent> {
  let changed = true; // the first event is the list as it is
  let done = false;
  let wake: (() => void) | undefined;
  const resume = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const listener = () => {
    changed = true;
    resume();
  };
  let set = watchers.get(user);
  if (!set) watchers.set(user, set = new Set());
  set.add(listener);
  const iterator: AsyncIterableIterator<NotesEvent> = {
    async next(): Promise<IteratorResult<NotesEvent>> {
      while (!done && !changed) {
        await new Promise<void>((resolve) => wake = resolve);
      }
      if (done) return { done: true, value: undefined };
      changed = false;
      return { done: false, value: { event: "notes", data: noteList(user) } };
    },
    return(): Promise<IteratorResult<NotesEvent>> {
      done = true;
      const mine = watchers.get(user);
      mine?.delete(listener);
      if (mine?.size === 0) watchers.delete(user);
      resume();
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** One event of a notes stream. */
interface NotesEvent {
  event: "notes";
  data: ReturnType<typeof noteList>;
}

// ---------------------------------------------------------------------------
// Pages

/** The note form's fields, checked by `request.validate()`. */
const NoteForm = z.object({
  title: z.string().trim().min(1, "A note needs a title.").max(
    200,
    "A title has at most 200 characters.",
  ),
  text: z.string().max(10_000, "A note has at most 10,000 characters.")
    .default(""),
});

/** What the note form shows: the text typed, and what is wrong with it. */
interface NoteFormState {
  values?: { title?: string; text?: string };
  errors?: Record<string, string>;
}

function noteForm(
  request: Request,
  { values = {}, errors = {} }: NoteFormState = {},
): Html {
  const error = (field: string) =>
    errors[field] &&
    html`<span class="error" id="${field}-error">${errors[field]}</span>`;
  return html`<form method="post" action="${addNote.url()}" enctype="multipart/form-data">
${csrfField(request)}
<input name="title" placeholder="Title" required maxlength="200" value="${
    values.title ?? ""
  }" aria-invalid="${errors.title ? "true" : "false"}">
${error("title")}
<textarea name="text" rows="4" placeholder="Text">${
    values.text ?? ""
  }</textarea>
${error("text")}
<input name="attachment" type="file">
<button>Add note</button></form>`;
}

/** The user's notes, kept up to date by the event stream. */
function notesList(user: string): Html {
  const list = noteList(user);
  return html`<div id="notes" data-events="${notesEvents.url()}">${
    list.length
      ? list.map((n) =>
        html`<div class="note"><a href="${n.url}">${n.title}</a>${
          n.attachment && " 📎"
        }</div>`
      )
      : html`<p>No notes yet.</p>`
  }</div>
<script>
(() => {
  const list = document.getElementById("notes");
  const source = new EventSource(list.dataset.events);
  source.addEventListener("notes", (event) => {
    const notes = JSON.parse(event.data);
    if (notes.length === 0) {
      const empty = document.createElement("p");
      empty.textContent = "No notes yet.";
      list.replaceChildren(empty);
      return;
    }
    list.replaceChildren(...notes.map((note) => {
      const div = document.createElement("div");
      div.className = "note";
      const a = document.createElement("a");
      a.href = note.url;
      a.textContent = note.title;
      div.append(a);
      if (note.attachment) div.append(" 📎");
      return div;
    }));
  });
  addEventListener("pagehide", () => source.close());
})();
</script>`;
}

/** The home page: the login form, or the user's notes and the note form. */
function homePage(
  request: Request,
  form?: NoteFormState,
): Promise<Response> {
  const user = request.session.get<string>("user");
  if (!user) {
    return page(
      request,
      "Notes",
      html`<form method="post" action="${login.url()}">
<input name="user" placeholder="User (demo)" required>
<input name="password" type="password" placeholder="Password (pesto)" required>
<button>Log in</button></form>`,
    );
  }
  return page(
    request,
    "Your notes",
    html`${notesList(user)}
${noteForm(request, form)}`,
  );
}

/** The home page: the login form, or the user's notes and a form to add one. */
export const home = app.match("/", "GET", (request) => homePage(request));

/** Logs in: a new session id, so an id known before login is worthless. */
async function logIn(request: Request): Promise<Response> {
  const user = String(await request.get("user") ?? "");
  const password = String(await request.get("password") ?? "");
  if (!Object.hasOwn(USERS, user) || USERS[user] !== password) {
    return (await page(
      request,
      "Notes",
      html`<p class="error">Wrong user or password.</p><a href="${home.url()}">Try again</a>`,
    )).replace({ status: 401 });
  }
  request.session.regenerate();
  request.session.set("user", user);
  await request.session.flash(`Welcome, ${user}.`);
  return Response.redirect(home.url(), 303);
}

/**
 * Login tries allowed a minute per client address: `NOTES_LOGIN_LIMIT`,
 * 10 unless set; `0` turns the limit off (for a load test whose users all
 * come from one address).
 */
const LOGIN_LIMIT = loginLimit(env("NOTES_LOGIN_LIMIT"));

function loginLimit(value: string | undefined): number {
  if (value === undefined) return 10;
  const limit = Number(value);
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new TypeError(
      `NOTES_LOGIN_LIMIT must be a whole number of tries (0: no limit), not ${
        JSON.stringify(value)
      }`,
    );
  }
  return limit;
}

/**
 * Logs in, 10 tries a minute per client: password guessing is slow. The
 * handler runs inside `rateLimit()` as a fetch handler of its own, so it
 * gets the app's limits and error page itself.
 */
const logInHandler = toHandler(logIn, { limits: LIMITS, errorPage });
export const login = app.match(
  "/login",
  "POST",
  LOGIN_LIMIT === 0 ? logInHandler : rateLimit({
    limit: LOGIN_LIMIT,
    window: 60_000,
    onLimited: async (request, { retryAfter }) =>
      (await page(
        request,
        "Notes",
        html`<p class="error">Too many tries: wait ${retryAfter} seconds.</p>
<a href="${home.url()}">Try again</a>`,
      )).replace({ status: 429 }),
  })(logInHandler),
);

/** Logs out: the session is deleted and its cookie expired. */
export const logout = app.match(
  "/logout",
  "POST",
  async (request): Promise<Response> => {
    if (await currentUser(request)) {
      request.session.invalidate();
      await request.session.flash("You are logged out.");
    }
    return Response.redirect(home.url(), 303);
  },
);

/**
 * The user's notes as server-sent events: the list, then the list again
 * whenever a note of theirs is saved or deleted, in any session. Before
 * the note page's route, which could take `/notes/events` otherwise.
 */
export const notesEvents = app.match(
  "/notes/events",
  "GET",
  (request): Response => {
    const user = request.session.get<string>("user");
    if (!user) throw new HttpError(403);
    return Response.eventStream(noteEvents(user), { keepAlive: 15_000 });
  },
);

/**
 * Adds a note from a multipart form, with an optional attachment. A form
 * that does not pass is shown again, with what was typed and what is wrong
 * next to each field.
 */
export const addNote = app.match(
  "/notes",
  "POST",
  async (request): Promise<Response> => {
    const user = await currentUser(request);
    if (!user) throw new HttpError(403);
    let fields: z.infer<typeof NoteForm>;
    try {
      fields = await request.validate(NoteForm);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const errors: Record<string, string> = {};
      for (const issue of error.issues) {
        const field = String(issue.path?.[0] ?? "title");
        errors[field] ??= issue.message;
      }
      const form = await request.form();
      const text = (name: string) => {
        const value = form.get(name);
        return typeof value === "string" ? value : undefined;
      };
      return (await homePage(request, {
        values: { title: text("title"), text: text("text") },
        errors,
      })).replace({ status: 422 });
    }
    const file = (await request.form()).get("attachment");
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
      title: fields.title,
      text: fields.text,
      rev: 1,
      attachment,
    };
    notes.set(note.id, note);
    notify(user);
    await request.session.flash("Note saved.");
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
  async (request, { id }): Promise<Response> => {
    const note = ownNote(request.session.get<string>("user"), id);
    if (!note) throw new HttpError(404);
    const response = await page(
      request,
      note.title,
      html`<div class="note"><p>${
        note.text.split(/\r?\n/).map((line, i) => i ? html`<br>${line}` : line)
      }</p>${
        note.attachment &&
        html`<p><a href="${
          attachment.url({ id })
        }">${note.attachment.filename}</a> (${note.attachment.bytes.length} bytes)</p>`
      }</div>
<form method="post" action="${deleteNote.url({ id })}">
${csrfField(request)}<button>Delete</button></form>
<a href="${home.url()}">All notes</a>`,
    );
    return response.headers.has("cache-control")
      ? response
      : response.addHeader("Cache-Control", "private, no-cache");
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
    if (!file) throw new HttpError(404);
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
    const user = await currentUser(request);
    const note = ownNote(user, id);
    if (!user || !note) throw new HttpError(404);
    notes.delete(id);
    notify(user);
    await request.session.flash(`Note “${note.title}” deleted.`);
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

/**
 * The app behind its middlewares: serve it, or test it with `TestApp`.
 * Hono's secure headers and compression on every answer, the sessions, and
 * `csrf()`, which refuses another site's form posts.
 */
export function makeFetch(
  store: SessionStore = sessionStore(),
): (request: globalThis.Request, info?: Deno.ServeHandlerInfo) => Promise<
  globalThis.Response
> {
  return compose(
    useXForwarded(),
    fromHono(secureHeaders()),
    fromHono(compress()),
    sessionMiddleware({ store }),
    csrf(),
  )(app);
}

if (import.meta.main) {
  for (const { methods, pattern } of app.routes()) {
    console.log(`  ${methods.join(", ").padEnd(10)} ${pattern}`);
  }
  serve({ fetch: compose(logger())(makeFetch()) });
}
