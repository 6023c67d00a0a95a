// A soak test with faults: the notes example app (examples/notes.ts, plus a
// /fault route that throws) runs in one process with its own TMPDIR, and a
// second process drives mixed load at it over 127.0.0.1 for a fixed time:
// logged-in users reading pages, static files, ranges and ETags; uploads
// (spooled to temporary files), read back and deleted; hostile requests over
// raw sockets; and about 5% of requests to the throwing route. It then prints
// the requests served, wrong answers to good requests (goal 0), hostile
// requests answered otherwise than expected (goal 0), 5xx other than the
// injected faults (goal 0), temporary files left (goal 0) and the server's
// RSS at start and end (goal: under 50 MB growth).
//
//   deno task soak [seconds, default 60] [users, default 16] [V8 flags]
//     [--raw | --faults]
//
// The third argument is passed to the server's V8 as it is, for example
// `--max-semi-space-size=1` to cap the young generation (see bench/README.md).
// With `--raw`, the server is the baseline instead: the same routes on raw
// `Deno.serve` (bench/_soak_raw.ts), to tell what the runtime grows by under
// the same traffic; it does none of Pesto's hostile-input work, so its
// answers to hostile requests are reported, not held to Pesto's.
//
// With `--faults`, sessions live in a redis-server the soak starts on a free
// port, and the world fails four times (bench/_soak_faults.ts): at 15% of
// the run Redis is stopped for 5 s and restarted, at 35% the server's TMPDIR
// is renamed away for 5 s, at 55% it is full for 5 s (a 64 KiB tmpfs over
// it, where the machine allows mounting one), at 75% clients that hang up
// mid-upload come in a 5 s burst. A 503 with Retry-After is then an accepted answer (a user that
// gets one waits 250 ms); the report adds, per fault, the requests answered
// while it lasted, its 503s, its wrong answers, and the time from its end to
// the first expected answer to a session or upload request sent after it.
//
// A script, not a test: it takes a minute.
import { logInToNotes, startPortServer } from "../_test/_process.ts";
import { rawRequest } from "../_test/_raw_http.ts";
import {
  type Events,
  type Fault,
  FAULT_MS,
  faultTable,
  hangUpBurst,
  Redis,
  sleep,
  tmpFull,
  tmpGone,
} from "./_soak_faults.ts";

const FAULT = "injected fault";
const MB = 1024 * 1024;
/** The kinds of request that need the session or spool an upload. */
const STATEFUL = new Set([
  "login",
  "home",
  "upload",
  "note",
  "attachment",
  "delete",
]);

if (Deno.args[0] === "--server") {
  await (Deno.args[1] === "--raw" ? rawServer() : server());
} else if (Deno.args[0] === "--worker") await worker();
else await main();

/** The baseline: the same routes on raw Deno.serve; prints its port. */
async function rawServer(): Promise<void> {
  const { rawNotes } = await import("./_soak_raw.ts");
  await listen(
    (request) =>
      new URL(request.url).pathname === "/__memory"
        ? memoryReport()
        : rawNotes(request),
    {
      onError: () => new Response("Internal Server Error", { status: 500 }),
    },
  );
}

/** The notes app and a throwing route, on 127.0.0.1; prints its port. */
async function server(): Promise<void> {
  const { app, makeFetch } = await import("../examples/notes.ts");
  app.match("/fault", "GET", () => {
    throw new Error(FAULT);
  });
  app.match("/__memory", "GET", memoryReport);
  // The injected faults are expected: keep them out of the log.
  const logError = console.error;
  console.error = (...args: unknown[]) => {
    if (args.some((a) => a instanceof Error && a.message === FAULT)) return;
    logError(...args);
  };
  await listen(makeFetch());
}

/** Serves `handler` on 127.0.0.1 until stopped, printing its port. */
async function listen(
  handler: Deno.ServeHandler,
  options: Pick<Deno.ServeOptions, "onError"> = {},
): Promise<void> {
  const served = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen({ port }) {
      console.log(port);
    },
    ...options,
  }, handler);
  await served.finished;
}

/** Memory after a full collection, for the report (not part of the load). */
function memoryReport(): Response {
  (globalThis as { gc?: () => void }).gc?.();
  return Response.json(Deno.memoryUsage());
}

/** What the worker reports. */
interface Report {
  requests: number;
  byKind: Record<string, number>;
  wrong: number;
  hostileWrong: number;
  unexpected5xx: number;
  faults: number;
  hostileStatuses: Record<string, number>;
  samples: string[];
  /** With `--faults`: 503s with Retry-After, accepted during faults. */
  unavailable: number;
  /** With `--faults`: every request, when sent and answered, and how. */
  events?: Events;
}

/** The client loop: `users` virtual users for `seconds`, then a report. */
async function worker(): Promise<void> {
  const port = Number(Deno.args[1]);
  const seconds = Number(Deno.args[2]);
  const users = Number(Deno.args[3]);
  const faults = Deno.args[4] === "--faults";
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + seconds * 1000;
  const began = Date.now();
  const MAX_REQUESTS = 5_000_000;
  const report: Report = {
    requests: 0,
    byKind: {},
    wrong: 0,
    hostileWrong: 0,
    unexpected5xx: 0,
    faults: 0,
    hostileStatuses: {},
    samples: [],
    unavailable: 0,
    events: faults ? { start: [], end: [], stateful: [], code: [] } : undefined,
  };
  const sample = (what: string) => {
    if (report.samples.length < 20) report.samples.push(what);
  };
  const wrong = (what: string) => {
    report.wrong++;
    sample(what);
  };
  const count = (kind: string, status: number) => {
    report.requests++;
    report.byKind[kind] = (report.byKind[kind] ?? 0) + 1;
    if (status >= 500 && kind !== "fault") {
      report.unexpected5xx++;
      sample(`${kind}: ${status}`);
    }
  };
  // With --faults, a 503 with Retry-After is the documented answer to an
  // outage: counted apart, never as wrong, and the user waits a little.
  const outage = (status: number, headers: Headers) =>
    faults && status === 503 && headers.has("retry-after");
  /**
   * Counts an answer and records it (with --faults); false unless it is the
   * expected one. `what` is the sample when it is wrong.
   */
  const judge = async (
    kind: string,
    sent: number,
    r: { status: number; headers: Headers },
    ok: boolean,
    what = `${kind}: ${r.status}`,
  ): Promise<boolean> => {
    const down = !ok && outage(r.status, r.headers);
    if (down) {
      report.requests++;
      report.byKind[kind] = (report.byKind[kind] ?? 0) + 1;
      report.unavailable++;
    } else {
      count(kind, r.status);
      if (!ok) {
        if (kind === "hostile") {
          report.hostileWrong++;
          sample(what);
        } else wrong(what);
      }
    }
    const events = report.events;
    if (events) {
      events.start.push(sent);
      events.end.push(Date.now());
      events.stateful.push(STATEFUL.has(kind) ? 1 : 0);
      events.code.push(ok ? 0 : down ? 1 : 2);
    }
    if (down) await new Promise((resolve) => setTimeout(resolve, 250));
    return ok;
  };

  const hostile: [string, string | (string | Uint8Array)[], number[]][] = [
    ["traversal", get("/static/../../../etc/passwd"), [404]],
    ["encoded traversal", get("/static/%2e%2e/%2e%2e/notes.ts"), [404]],
    ["slash in a segment", get("/static/..%2f..%2fnotes.ts"), [404]],
    ["backslash", get("/static/..\\..\\notes.ts"), [404]],
    ["NUL", get("/static/style.css%00.txt"), [400]],
    ["bad escape", get("/notes/%zz"), [400]],
    ["invalid UTF-8", get("/notes/%C3%28"), [400]],
    ["bad Host", get("/", "x/admin"), [400]],
    ["huge header", get("/", "h.test", `X-Big: ${"b".repeat(70_000)}\r\n`), [
      400,
      431,
    ]],
    ["not an int", get("/notes/abc"), [404]],
    [
      "forged session",
      get("/", "h.test", `Cookie: pesto_session=${"0".repeat(64)}\r\n`),
      [200],
    ],
    [
      "multipart without boundary",
      post("/login", "multipart/form-data", "--x--"),
      [400],
    ],
    ["garbage request line", "GARBAGE\r\n\r\n", [400]],
    ["malformed chunked body", [
      "POST /login HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ], [0, 400]],
  ];

  async function user(n: number): Promise<void> {
    const name = n % 2 ? "demo" : "ada";
    const password = n % 2 ? "pesto" : "lovelace";
    let cookie = "";
    let csrf = "";
    // The request under way, named in a client error.
    let step = "";
    const login = async (): Promise<void> => {
      let sent = Date.now();
      step = `/login`;
      const r = await fetch(`${base}/login`, {
        method: "POST",
        body: new URLSearchParams({ user: name, password }),
        redirect: "manual",
      });
      await r.body?.cancel();
      cookie = r.headers.get("set-cookie")?.split(";")[0] ?? "";
      const loggedIn = r.status === 303 && !!cookie;
      if (!await judge("login", sent, r, loggedIn)) {
        if (outage(r.status, r.headers) && Date.now() < deadline) {
          return await login();
        }
      }
      sent = Date.now();
      step = `/`;
      const home = await fetch(`${base}/`, { headers: { cookie } });
      const html = await home.text();
      csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
      const ok = home.status === 200 && !!csrf;
      if (
        !await judge("home", sent, home, ok, `home after login: ${home.status}`)
      ) {
        if (outage(home.status, home.headers) && Date.now() < deadline) {
          return await login();
        }
      }
    };
    await login();
    let i = 0;
    while (Date.now() < deadline && report.requests < MAX_REQUESTS) {
      i++;
      const roll = Math.random();
      const sent = Date.now();
      try {
        if (roll < 0.08) {
          step = `/fault`;
          const r = await fetch(`${base}/fault`, { headers: { cookie } });
          await r.body?.cancel();
          if (await judge("fault", sent, r, r.status === 500)) report.faults++;
        } else if (roll < 0.33) {
          const [label, parts, expected] = hostile[i % hostile.length];
          step = `hostile ${label}`;
          const r = await rawRequest(port, parts, { timeout: 10_000 });
          const key = `${label} → ${r.status}`;
          report.hostileStatuses[key] = (report.hostileStatuses[key] ?? 0) + 1;
          await judge("hostile", sent, r, expected.includes(r.status), key);
        } else if (roll < 0.46) {
          await upload(n, i);
        } else if (roll < 0.66) {
          step = `/`;
          const r = await fetch(`${base}/`, { headers: { cookie } });
          const html = await r.text();
          await judge(
            "home",
            sent,
            r,
            r.status === 200 && html.includes("Your notes"),
          );
        } else if (roll < 0.80) {
          step = `/static/style.css`;
          const r = await fetch(`${base}/static/style.css`);
          const text = await r.text();
          const etag = r.headers.get("etag");
          await judge(
            "static",
            sent,
            r,
            r.status === 200 && text.includes("{") && !!etag,
          );
          step = `/static/style.css`;
          const again = await fetch(`${base}/static/style.css`, {
            headers: { "If-None-Match": etag ?? "" },
          });
          await again.body?.cancel();
          await judge("static 304", sent, again, again.status === 304);
        } else {
          step = `/static/logo.svg`;
          const r = await fetch(`${base}/static/logo.svg`, {
            headers: { Range: "bytes=0-9" },
          });
          const bytes = new Uint8Array(await r.arrayBuffer());
          await judge(
            "range",
            sent,
            r,
            r.status === 206 && bytes.byteLength === 10,
            `range: ${r.status} ${bytes.byteLength}`,
          );
        }
      } catch (error) {
        const cause = (error as Error).cause ?? "";
        wrong(
          `client error at ${((Date.now() - began) / 1000).toFixed(1)} s, ` +
            `step ${step}: ${error} ${cause}`,
        );
        await login();
      }
    }

    async function upload(n: number, i: number): Promise<void> {
      const title = `note ${n}.${i}`;
      const content = new Uint8Array(80_000 + (i % 1000));
      crypto.getRandomValues(content.subarray(0, 1024));
      const form = new FormData();
      form.append("csrf", csrf);
      form.append("title", title);
      form.append("text", `text of ${title}`);
      form.append("attachment", new File([content], `${title}.bin`));
      let sent = Date.now();
      step = `/notes`;
      const r = await fetch(`${base}/notes`, {
        method: "POST",
        body: form,
        headers: { cookie },
        redirect: "manual",
      });
      await r.body?.cancel();
      const location = r.headers.get("location") ?? "";
      const id = /\/notes\/(\d+)$/.exec(location)?.[1];
      if (!await judge("upload", sent, r, r.status === 303 && !!id)) return;
      sent = Date.now();
      step = `/notes/${id}`;
      const page = await fetch(`${base}/notes/${id}`, { headers: { cookie } });
      const html = await page.text();
      await judge(
        "note",
        sent,
        page,
        page.status === 200 && html.includes(title),
      );
      sent = Date.now();
      step = `/notes/${id}/attachment`;
      const file = await fetch(`${base}/notes/${id}/attachment`, {
        headers: { cookie },
      });
      const back = new Uint8Array(await file.arrayBuffer());
      await judge(
        "attachment",
        sent,
        file,
        file.status === 200 && back.byteLength === content.byteLength &&
          back.every((b, k) => b === content[k]),
        `attachment: ${file.status} ${back.byteLength}`,
      );
      // The delete is tried until it is done. A 503 from a session that
      // could not be saved comes after the handler ran: the note may be
      // gone, and a 404 then is the right answer to the next try.
      let retried = false;
      do {
        sent = Date.now();
        step = `/notes/${id}/delete`;
        const gone = await fetch(`${base}/notes/${id}/delete`, {
          method: "POST",
          body: new URLSearchParams({ csrf }),
          headers: { cookie },
          redirect: "manual",
        });
        await gone.body?.cancel();
        const done = gone.status === 303 || (retried && gone.status === 404);
        if (await judge("delete", sent, gone, done)) break;
        if (!outage(gone.status, gone.headers)) break;
        retried = true;
      } while (Date.now() < deadline);
    }
  }

  await Promise.all(Array.from({ length: users }, (_, n) => user(n)));
  console.log(JSON.stringify(report));
}

function get(target: string, host = "h.test", headers = ""): string {
  return `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${headers}Connection: close\r\n\r\n`;
}

function post(target: string, type: string, body: string): string {
  return `POST ${target} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** The resident memory of process `pid`, in bytes (Linux). */
function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

async function main(): Promise<void> {
  const raw = Deno.args.includes("--raw");
  const faulty = Deno.args.includes("--faults");
  if (raw && faulty) throw new Error("--faults is for Pesto, not --raw");
  const [seconds = 60, users = 16, flag] = Deno.args.filter((arg) =>
    arg !== "--raw" && arg !== "--faults"
  ).map((arg, i) => i < 2 ? Number(arg) : arg) as [number?, number?, string?];
  const v8Flags = ["--expose-gc", ...(flag ? [flag] : [])];
  const self = new URL(import.meta.url).pathname;
  const tmp = await Deno.makeTempDir({ prefix: "pesto-soak-" });
  // With --faults: sessions in a redis-server of the soak's own.
  const redis = faulty ? await Redis.start() : undefined;
  const server = await startPortServer(self, {
    flags: ["--allow-all", `--v8-flags=${v8Flags.join(",")}`],
    args: raw ? ["--server", "--raw"] : ["--server"],
    // Every soak user logs in from 127.0.0.1: the example's login limit
    // (10 a minute per address) would answer them 429, so it is lifted.
    env: redis
      ? { TMPDIR: tmp, NOTES_REDIS_URL: redis.url, NOTES_LOGIN_LIMIT: "0" }
      : { TMPDIR: tmp, NOTES_LOGIN_LIMIT: "0" },
  });
  const port = server.port;
  try {
    // Warm up (JIT, first routes), then take the starting RSS.
    for (let i = 0; i < 200; i++) {
      await (await fetch(`http://127.0.0.1:${port}/static/style.css`)).text();
    }
    const memory = async (): Promise<Deno.MemoryUsage> =>
      await (await fetch(`http://127.0.0.1:${port}/__memory`)).json();
    const heapStart = await memory();
    const start = rss(server.pid);
    let peak = start;
    let ticks = 0;
    const trace: number[] = [];
    const sampler = setInterval(() => {
      const now = rss(server.pid);
      peak = Math.max(peak, now);
      if (++ticks % 20 === 0) trace.push(now);
    }, 500);
    const began = performance.now();
    const startedAt = Date.now();
    const faultClient = redis
      ? await logInToNotes(`http://127.0.0.1:${port}`)
      : undefined;
    const loading = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        self,
        "--worker",
        String(port),
        String(seconds),
        String(users),
        ...(redis ? ["--faults"] : []),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const faults: Fault[] = [];
    if (redis && faultClient) {
      // The schedule: one fault at 15%, 35%, 55% and 75% of the run.
      const at = (share: number) =>
        sleep(startedAt + share * seconds * 1000 - Date.now());
      await at(0.15);
      let from = Date.now();
      await redis.down();
      const stopped = Date.now();
      await sleep(FAULT_MS - (stopped - from));
      await redis.up();
      faults.push({
        name: "Redis stopped, restarted",
        from,
        to: Date.now(),
        note: `stop took ${stopped - from} ms`,
      });
      await at(0.35);
      from = Date.now();
      await tmpGone(tmp, FAULT_MS);
      faults.push({
        name: "TMPDIR renamed away",
        from,
        to: Date.now(),
        note: "",
      });
      await at(0.55);
      from = Date.now();
      const full = await tmpFull(tmp, FAULT_MS);
      if (full) {
        faults.push({
          name: "TMPDIR full (64 KiB tmpfs)",
          from,
          to: Date.now(),
          note: "",
        });
      } else console.log("TMPDIR full: skipped (no tmpfs can be mounted)");
      await at(0.75);
      from = Date.now();
      const clients = await hangUpBurst(port, faultClient, FAULT_MS);
      const to = Date.now();
      await sleep(1000);
      faults.push({
        name: "clients hang up mid-upload",
        from,
        to,
        note: `${clients} clients; ${
          [...Deno.readDirSync(tmp)].length
        } temporary files 1 s after (in-flight uploads included)`,
      });
    }
    const load = await loading;
    const elapsed = (performance.now() - began) / 1000;
    clearInterval(sampler);
    if (!load.success) throw new Error("the load worker failed");
    const report: Report = JSON.parse(new TextDecoder().decode(load.stdout));
    // Let the last responses' cleanup run, then look.
    // Array buffers are freed a little after a collection: collect twice.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await memory();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const heapEnd = await memory();
    const end = rss(server.pid);
    const settled = trace[0] ?? end;
    const left = [...Deno.readDirSync(tmp)].map((e) => e.name);
    const leftAway = faulty
      ? [...(function* () {
        try {
          yield* Deno.readDirSync(`${tmp}.away`);
        } catch { /* not there: as it should be */ }
      })()].length
      : 0;
    const rows: [string, string, string][] = [
      [
        "requests served",
        `${report.requests} (${(report.requests / elapsed).toFixed(0)}/s over ${
          elapsed.toFixed(1)
        } s, ${users} users)`,
        `${raw ? "raw Deno.serve baseline; " : ""}V8 flags: ${
          v8Flags.join(" ")
        }`,
      ],
      [
        "wrong answers to good requests",
        String(report.wrong),
        report.wrong === 0 ? "goal 0: met" : "goal 0: NOT met",
      ],
      [
        "hostile requests answered other",
        String(report.hostileWrong),
        raw
          ? "raw baseline: not held to Pesto's answers"
          : report.hostileWrong === 0
          ? "goal 0: met"
          : "goal 0: NOT met",
      ],
      [
        "5xx other than injected faults",
        String(report.unexpected5xx),
        report.unexpected5xx === 0 ? "goal 0: met" : "goal 0: NOT met",
      ],
      [
        "injected faults answered 500",
        `${report.faults} (${
          (100 * report.faults / report.requests).toFixed(1)
        }% of requests)`,
        "",
      ],
      [
        "temporary files left",
        String(left.length),
        left.length === 0 ? "goal 0: met" : "goal 0: NOT met",
      ],
      [
        "server RSS start → end (peak)",
        `${(start / MB).toFixed(1)} → ${(end / MB).toFixed(1)} MB (${
          (peak / MB).toFixed(1)
        })`,
        end - start < 50 * MB
          ? "goal < 50 MB growth: met"
          : "goal < 50 MB growth: NOT met",
      ],
      [
        "server RSS after 10 s → end",
        `${(settled / MB).toFixed(1)} → ${(end / MB).toFixed(1)} MB (${
          end - settled >= 0 ? "+" : ""
        }${((end - settled) / MB).toFixed(1)})`,
        "",
      ],
      [
        "JS heap after GC start → end",
        `${(heapStart.heapUsed / MB).toFixed(1)} → ${
          (heapEnd.heapUsed / MB).toFixed(1)
        } MB (external ${(heapStart.external / MB).toFixed(1)} → ${
          (heapEnd.external / MB).toFixed(1)
        })`,
        "",
      ],
    ];
    for (const [what, value, goal] of rows) {
      console.log(`${what.padEnd(32)} ${value.padEnd(48)} ${goal}`);
    }
    console.log(
      "RSS every 10 s (MB):",
      trace.map((b) => (b / MB).toFixed(0)).join(" "),
    );
    console.log("by kind:", JSON.stringify(report.byKind));
    console.log("hostile answers:", JSON.stringify(report.hostileStatuses));
    if (report.samples.length) console.log("samples:", report.samples);
    if (left.length) {
      console.log(
        "left:",
        left.map((name) => {
          const info = Deno.statSync(`${tmp}/${name}`);
          const at = ((info.mtime?.getTime() ?? 0) - startedAt) / 1000;
          return `${name} (${info.size} bytes, written at ${at.toFixed(1)} s)`;
        }),
      );
    }
    if (report.events) {
      console.log(
        `\nfaults (${report.unavailable} answers 503 with Retry-After in all;` +
          ` ${leftAway} files in the renamed-away directory):`,
      );
      console.log(
        "| fault | window | requests served during it | 503 + Retry-After | wrong answers | time to recover | temporary files left at the end | notes |",
      );
      console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
      for (const row of faultTable(report.events, faults, startedAt)) {
        console.log(
          `| ${row.fault} | ${row.window} | ${row.served} | ${row.unavailable} | ${row.wrong} | ${row.recovery} | ${left.length} | ${row.note} |`,
        );
      }
    }
  } finally {
    await server.stop();
    await redis?.remove();
    await Deno.remove(tmp, { recursive: true });
    await Deno.remove(`${tmp}.away`, { recursive: true }).catch(() => {});
  }
}
