// The soak's fault schedule (`deno task soak ... --faults`, see soak.ts):
// a redis-server of its own, stopped for 5 s and restarted; the server's
// TMPDIR renamed away for 5 s and back (as root, permissions would not stop
// writes); the TMPDIR full for 5 s (a tiny tmpfs over it); and a burst of raw clients that send a multipart head and part of
// a large body, then hang up. The worker records when each request started
// and ended and how it was answered; `faultTable` turns that into one row per
// fault.
import { freePort, startRedisServer } from "../_test/_process.ts";
import { rawRequest } from "../_test/_raw_http.ts";

/** How long each fault lasts, in ms. */
export const FAULT_MS = 5000;

/** An answer, as the worker records it (all times in ms since the epoch). */
export interface Events {
  /** When each request was sent. */
  start: number[];
  /** When its answer was read. */
  end: number[];
  /** Whether it needs the session or spools an upload (1) or not (0). */
  stateful: number[];
  /** 0: the expected answer; 1: 503 with Retry-After; 2: wrong. */
  code: number[];
}

/** One fault as it ran. */
export interface Fault {
  name: string;
  /** When it began and ended, ms since the epoch. */
  from: number;
  to: number;
  /** What the fault itself did, for the report. */
  note: string;
}

/** A redis-server of the soak's own, on a free port, with its data kept. */
export class Redis {
  readonly port = freePort();
  readonly dir: string;
  #child?: Deno.ChildProcess;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Starts one in a new directory and waits until it accepts. */
  static async start(): Promise<Redis> {
    const redis = new Redis(
      await Deno.makeTempDir({ prefix: "pesto-soak-redis-" }),
    );
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again): a save point, so a stop keeps sessions. */
  async up(): Promise<void> {
    this.#child = await startRedisServer(this.port, {
      args: ["--dir", this.dir, "--save", "3600 1"],
      timeout: 10_000,
    });
  }

  /**
   * Stops it with SIGTERM (it saves its data; SIGKILL after 5 s) and waits
   * until it exits.
   */
  async down(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    // Redis refuses to exit when its save fails: then it is killed.
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await child.status;
    clearTimeout(timer);
  }

  /** Stops it and removes its data. */
  async remove(): Promise<void> {
    await this.down();
    await Deno.remove(this.dir, { recursive: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Clients that go away mid-upload, for `ms`: 16 at a time, each sending the
 * head of a 400 KB multipart upload (with a valid session and CSRF token)
 * and 0 to 200 KB of its body, waiting up to 100 ms, then closing.
 * Returns how many there were.
 */
export async function hangUpBurst(
  port: number,
  login: { cookie: string; csrf: string },
  ms: number,
): Promise<number> {
  const boundary = "soakboundary";
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="csrf"` +
    `\r\n\r\n${login.csrf}\r\n--${boundary}\r\nContent-Disposition: ` +
    `form-data; name="title"\r\n\r\ncut\r\n--${boundary}\r\nContent-` +
    `Disposition: form-data; name="attachment"; filename="cut.bin"\r\n` +
    `Content-Type: application/octet-stream\r\n\r\n`;
  const total = head.length + 400_000;
  const request =
    `POST /notes HTTP/1.1\r\nHost: h.test\r\nCookie: ${login.cookie}` +
    `\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\n` +
    `Content-Length: ${total}\r\n\r\n`;
  const data = new Uint8Array(200_000).fill(0x61);
  const deadline = Date.now() + ms;
  let count = 0;
  let n = 0;
  const client = async () => {
    while (Date.now() < deadline) {
      const cut = [0, 1_000, 60_000, 70_000, 150_000, 200_000][n++ % 6];
      count++;
      await rawRequest(port, [
        request,
        head,
        data.subarray(0, cut >> 1),
        sleep(n % 100).then(() => data.subarray(0, cut - (cut >> 1))),
        sleep(n % 3 === 0 ? 100 : 0).then(() => ""),
      ], { hangUp: true }).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: 16 }, client));
  return count;
}

/**
 * Fills `dir` for `ms`: a 64 KiB tmpfs mounted over it, where no upload past
 * the in-memory limit fits, then taken away (lazily: files still open go
 * with it). Files made in `dir` before are hidden meanwhile. False, and
 * nothing done, where no tmpfs can be mounted (not root, not Linux).
 */
export async function tmpFull(dir: string, ms: number): Promise<boolean> {
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!mount?.success) return false;
  await sleep(ms);
  await new Deno.Command("umount", { args: ["-l", dir] }).output();
  return true;
}

/** Moves `dir` away for `ms`, then back. */
export async function tmpGone(dir: string, ms: number): Promise<void> {
  await Deno.rename(dir, `${dir}.away`);
  await sleep(ms);
  await Deno.rename(`${dir}.away`, dir);
}

/** One row of the per-fault report. */
export interface FaultRow {
  fault: string;
  window: string;
  served: number;
  unavailable: number;
  wrong: number;
  recovery: string;
  note: string;
}

/**
 * Per fault: the requests answered while it lasted, how many of them were
 * 503 with Retry-After and how many wrong, and the time from its end to the
 * first expected answer to a session or upload request sent after it.
 */
export function faultTable(
  events: Events,
  faults: Fault[],
  began: number,
): FaultRow[] {
  return faults.map((fault) => {
    let served = 0, unavailable = 0, wrong = 0;
    let recovered = Infinity;
    for (let i = 0; i < events.end.length; i++) {
      const end = events.end[i];
      if (end >= fault.from && end <= fault.to) {
        served++;
        if (events.code[i] === 1) unavailable++;
        if (events.code[i] === 2) wrong++;
      }
      if (
        events.stateful[i] && events.code[i] === 0 &&
        events.start[i] >= fault.to && end < recovered
      ) recovered = end;
    }
    return {
      fault: fault.name,
      window: `${((fault.from - began) / 1000).toFixed(1)}–${
        ((fault.to - began) / 1000).toFixed(1)
      } s`,
      served,
      unavailable,
      wrong,
      recovery: recovered === Infinity
        ? "never"
        : `${(recovered - fault.to).toFixed(0)} ms`,
      note: fault.note,
    };
  });
}
