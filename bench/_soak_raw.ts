// The soak's baseline: the notes example's routes written on raw Deno.serve
// with web standards alone (in-memory sessions keyed by a cookie, bodies
// read by `formData()`, attachments kept in memory, static files read from
// disk per request with an ETag and one-range support), so that
// `deno task soak --raw` shows what the runtime itself grows by under the
// same traffic. It checks no Host and does none of Pesto's hostile-input
// work, so its answers to the hostile requests are not Pesto's; the soak
// counts them apart and holds them to nothing.

const USERS: Record<string, string> = { demo: "pesto", ada: "lovelace" };
const STATIC = new URL("../examples/static/", import.meta.url);
const NOTE = /^\/notes\/(\d+)(\/attachment|\/delete)?$/;

interface Note {
  owner: string;
  title: string;
  text: string;
  file?: { name: string; type: string; bytes: Uint8Array<ArrayBuffer> };
}

const sessions = new Map<string, { user: string; csrf: string }>();
const notes = new Map<number, Note>();
let lastId = 0;

const html = (body: string) =>
  new Response(`<!doctype html><html><body>${body}</body></html>`, {
    headers: { "content-type": "text/html; charset=UTF-8" },
  });
const redirect = (location: string, headers: HeadersInit = {}) =>
  new Response(null, { status: 303, headers: { location, ...headers } });
const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function sessionOf(request: Request) {
  const sid = /(?:^|;\s*)pesto_session=([^;]+)/.exec(
    request.headers.get("cookie") ?? "",
  )?.[1];
  return sid === undefined ? undefined : sessions.get(sid);
}

async function staticFile(request: Request, name: string): Promise<Response> {
  if (name !== "style.css" && name !== "logo.svg") {
    return new Response("Not Found", { status: 404 });
  }
  const path = new URL(name, STATIC);
  const info = await Deno.stat(path);
  const etag = `"${info.size.toString(16)}-${info.mtime?.getTime() ?? 0}"`;
  const type = name.endsWith(".css") ? "text/css" : "image/svg+xml";
  if (request.headers.get("if-none-match") === etag) {
    return new Response(null, { status: 304, headers: { etag } });
  }
  const bytes = await Deno.readFile(path);
  const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get("range") ?? "");
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), bytes.byteLength - 1);
    return new Response(bytes.subarray(start, end + 1), {
      status: 206,
      headers: {
        "content-type": type,
        "content-range": `bytes ${start}-${end}/${bytes.byteLength}`,
        etag,
      },
    });
  }
  return new Response(bytes, { headers: { "content-type": type, etag } });
}

async function login(request: Request): Promise<Response> {
  const form = new URLSearchParams(await request.text());
  const user = form.get("user") ?? "";
  if (USERS[user] === undefined || USERS[user] !== form.get("password")) {
    return html("<p>Wrong user or password</p>");
  }
  const sid = crypto.randomUUID();
  sessions.set(sid, { user, csrf: crypto.randomUUID() });
  return redirect("/", { "set-cookie": `pesto_session=${sid}; HttpOnly` });
}

function home(session: { user: string; csrf: string }): Response {
  const own = [...notes].filter(([, n]) => n.owner === session.user);
  return html(
    `<h1>Your notes</h1><ul>${
      own.map(([id, n]) => `<li><a href="/notes/${id}">${escape(n.title)}</a>`)
        .join("")
    }</ul><form method="post" action="/notes" enctype="multipart/form-data">` +
      `<input type="hidden" name="csrf" value="${session.csrf}"></form>`,
  );
}

async function addNote(
  request: Request,
  session: { user: string; csrf: string },
): Promise<Response> {
  const form = await request.formData();
  if (form.get("csrf") !== session.csrf) {
    return new Response("Forbidden", { status: 403 });
  }
  const upload = form.get("attachment");
  const file = upload instanceof File
    ? { name: upload.name, type: upload.type, bytes: await upload.bytes() }
    : undefined;
  // The id is taken after the last await: requests interleave there.
  const id = ++lastId;
  notes.set(id, {
    owner: session.user,
    title: String(form.get("title") ?? ""),
    text: String(form.get("text") ?? ""),
    file,
  });
  return redirect(`/notes/${id}`);
}

async function note(
  request: Request,
  session: { user: string; csrf: string },
  id: number,
  action: string | undefined,
): Promise<Response> {
  const found = notes.get(id);
  if (!found || found.owner !== session.user) {
    return new Response("Not Found", { status: 404 });
  }
  if (action === "/attachment" && found.file) {
    return new Response(found.file.bytes, {
      headers: {
        "content-type": found.file.type || "application/octet-stream",
        "content-disposition": `attachment; filename="${found.file.name}"`,
      },
    });
  }
  if (action === "/delete" && request.method === "POST") {
    const form = new URLSearchParams(await request.text());
    if (form.get("csrf") !== session.csrf) {
      return new Response("Forbidden", { status: 403 });
    }
    notes.delete(id);
    return redirect("/");
  }
  return html(`<h1>${escape(found.title)}</h1><p>${escape(found.text)}</p>`);
}

/** The notes routes on raw `Deno.serve`; `/fault` throws. */
export function rawNotes(request: Request): Response | Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path === "/fault") throw new Error("injected fault");
  if (path.startsWith("/static/")) return staticFile(request, path.slice(8));
  if (path === "/login" && request.method === "POST") return login(request);
  const session = sessionOf(request);
  if (path === "/" && request.method === "GET") {
    return session ? home(session) : html("<p>Log in</p>");
  }
  const match = NOTE.exec(path);
  if (session && path === "/notes" && request.method === "POST") {
    return addNote(request, session);
  }
  if (session && match) {
    return note(request, session, Number(match[1]), match[2]);
  }
  return new Response("Not Found", { status: 404 });
}
