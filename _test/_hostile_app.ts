// The application the hostile-input, slow-client and concurrency tests
// attack: typed routes, a form route with small limits, a redirect route, a
// cookie route, a throwing route, sessions, and static files over a temp
// folder that holds a dotfile, a subfolder and a symlink pointing at a
// secret file outside it.
import {
  compose,
  DispatcherApp,
  type FormValue,
  MemorySessionStore,
  type MultiDict,
  Response,
  serveStatic,
  sessionMiddleware,
} from "@pesto/pesto";

/** Text that must never reach a client. */
export const SECRET = "TOP-SECRET-5f1c9e";
/** The message of the error thrown by `/throw`. */
export const ERROR_MESSAGE = "handler exploded with private detail 7d2b";

/** The limits of the `/form` route. */
export const FORM_LIMITS = {
  maxBodySize: 2048,
  maxUrlencodedSize: 512,
  maxFieldSize: 100,
  maxMultipartSize: 2000,
  maxParts: 6,
  maxFiles: 2,
  maxFileSize: 1000,
  maxFileMemorySize: 64,
  maxPartHeaderSize: 300,
  bodyTimeout: 1000,
} as const;

/** The app, its temp folder, and the errors its handlers raised. */
export interface HostileApp {
  /** The fetch handler, sessions included. */
  fetch: (
    request: Request,
    info?: Deno.ServeHandlerInfo,
  ) => Promise<globalThis.Response>;
  /** The folder holding `root/` (served) and `secret.txt` (not served). */
  base: string;
  /** Errors that became 500s. */
  errors: unknown[];
  /** Removes the temp folder. */
  cleanup(): Promise<void>;
}

/** The JSON shape `/form` answers with. */
export type FormEcho = Record<
  string,
  (string | { filename: string; size: number; text: string })[]
>;

async function echoForm(form: MultiDict<FormValue>): Promise<FormEcho> {
  const out: FormEcho = {};
  for (const [name, value] of form) {
    out[name] ??= [];
    out[name].push(
      typeof value === "string" ? value : {
        filename: value.filename,
        size: value.size,
        text: await value.text(),
      },
    );
  }
  return out;
}

/** Builds the app over a fresh temp folder. */
export async function makeHostileApp(
  options: { bodyTimeout?: number } = {},
): Promise<HostileApp> {
  const base = await Deno.makeTempDir({ prefix: "pesto-hostile-" });
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/sub`, { recursive: true });
  await Deno.writeTextFile(`${base}/secret.txt`, SECRET);
  await Deno.writeTextFile(`${root}/public.txt`, "public file");
  await Deno.writeTextFile(`${root}/.env`, `PASSWORD=${SECRET}`);
  await Deno.writeTextFile(`${root}/sub/inner.txt`, "inner file");
  await Deno.symlink(`${base}/secret.txt`, `${root}/link.txt`);
  await Deno.symlink(base, `${root}/outside`);

  const errors: unknown[] = [];
  const app = new DispatcherApp({ onError: (error) => errors.push(error) });
  app.match(
    "/items/<id:int>",
    "GET",
    (_r, { id }) => new Response(`item ${id}`),
  );
  app.match(
    "/users/<name:unicode>",
    "GET",
    (_r, { name }) => new Response(`user ${name}`),
  );
  app.match("/search", "GET", (r) => Response.json(r.query.getAll("q")));
  app.match(
    "/form",
    "POST",
    async (request) => Response.json(await echoForm(await request.form())),
    {
      limits: {
        ...FORM_LIMITS,
        bodyTimeout: options.bodyTimeout ?? FORM_LIMITS.bodyTimeout,
      },
    },
  );
  app.match(
    "/echo",
    "POST",
    async (request) =>
      new Response(`${(await request.bytes()).byteLength} bytes`),
    { limits: FORM_LIMITS },
  );
  app.match(
    "/redirect",
    "GET",
    (r) => Response.redirect(r.query.get("to") ?? "/"),
  );
  app.match(
    "/cookie",
    "GET",
    (r) => new Response("cookie set").addCookie("c", r.query.get("v") ?? ""),
  );
  app.match(
    "/header",
    "GET",
    (r) =>
      new Response("header set").addHeader("X-Echo", r.query.get("v") ?? ""),
  );
  app.match("/throw", "GET", () => {
    throw new Error(ERROR_MESSAGE);
  });
  app.match("/session", "GET", (r) => {
    const visits = (r.session.get<number>("visits") ?? 0) + 1;
    r.session.set("visits", visits);
    const name = r.query.get("name");
    if (name !== undefined) r.session.set("name", name);
    return Response.json({ visits, name: r.session.get("name") ?? null });
  });
  app.match("/static/<path:path>", "GET", serveStatic(root));

  const fetch = compose(sessionMiddleware({ store: new MemorySessionStore() }))(
    app,
  );
  return {
    fetch,
    base,
    errors,
    cleanup: () => Deno.remove(base, { recursive: true }),
  };
}
