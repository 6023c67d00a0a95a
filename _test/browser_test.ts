/**
 * The example apps in a real browser: headless Chromium (the Debian
 * package `chromium`), driven through puppeteer-core, against the apps
 * served on 127.0.0.1 (`PESTO_CHROMIUM` names another Chromium binary).
 * Without Chromium these tests are ignored, with the reason printed. When a
 * step fails, a screenshot of its page is saved in a temp folder whose path
 * is printed.
 */
import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { MemorySessionStore } from "@pesto/pesto";
import { app as recipes } from "../examples/recipes.ts";
import { makeFetch } from "../examples/notes.ts";
import { startNotesTask } from "./_process.ts";

/** The browser: `PESTO_CHROMIUM`, or Debian's package. */
const CHROMIUM = Deno.env.get("PESTO_CHROMIUM") ?? "/usr/bin/chromium";

function chromiumMissing(): string | undefined {
  try {
    Deno.statSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} not found (Debian: apt-get install chromium)`;
  }
}

const missing = chromiumMissing();
if (missing) console.log(`browser_test.ts: ignored, ${missing}`);

/** A browser with a fresh profile, and the pages a failure shows. */
async function launch(): Promise<{
  browser: Browser;
  page: Page;
  close: () => Promise<void>;
}> {
  const profile = await Deno.makeTempDir({ prefix: "pesto-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    userDataDir: profile,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  return {
    browser,
    page,
    close: async () => {
      await browser.close();
      await Deno.remove(profile, { recursive: true });
    },
  };
}

/** Serves a fetch handler on 127.0.0.1, on a free port. */
function serveLocal(
  fetch: (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response>,
): { base: string; server: Deno.HttpServer<Deno.NetAddr> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    fetch,
  );
  return { base: `http://127.0.0.1:${server.addr.port}`, server };
}

/**
 * Runs a step; when it fails, saves a screenshot of the page in a temp
 * folder and prints where.
 */
async function step(
  t: Deno.TestContext,
  page: Page,
  name: string,
  fn: () => Promise<void>,
): Promise<void> {
  const ok = await t.step(name, async () => {
    try {
      await fn();
    } catch (error) {
      const dir = await Deno.makeTempDir({ prefix: "pesto-browser-" });
      const file = `${dir}/${name.replace(/[^a-z0-9]+/gi, "-")}.png`;
      await page.screenshot({ path: file as `${string}.png`, fullPage: true })
        .catch(() => {});
      console.log(`browser_test.ts: screenshot of "${name}" in ${dir}`);
      throw error;
    }
  });
  if (!ok) throw new Error(`step "${name}" failed`);
}

/** Clicks what the selector finds and waits for the page it leads to. */
async function clickAndWait(page: Page, selector: string) {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click(selector),
  ]);
  return response;
}

/** The text of the first element the selector finds. */
function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (element) => element.textContent ?? "");
}

Deno.test({
  name:
    "examples/recipes.ts in Chromium: links built by reverse routing lead to each recipe",
  ignore: missing !== undefined,
  fn: async (t) => {
    const { base, server } = serveLocal(recipes.fetch);
    const { page, close } = await launch();
    try {
      await step(t, page, "the index lists the recipes", async () => {
        const response = await page.goto(`${base}/`);
        assert.equal(response?.status(), 200);
        assert.equal(await text(page, "h1"), "List of recipes");
        const links = await page.$$eval(
          "li a",
          (as) => as.map((a) => [a.textContent, a.getAttribute("href")]),
        );
        assert.deepEqual(links, [
          ["pesto", `${base}/recipes/pesto`],
          ["toast", `${base}/recipes/toast`],
        ]);
      });

      await step(t, page, "a link leads to its recipe, and back", async () => {
        const response = await clickAndWait(page, 'a[href$="/recipes/toast"]');
        assert.equal(response?.status(), 200);
        assert.equal(page.url(), `${base}/recipes/toast`);
        assert.equal(await text(page, "h1"), "How to make toast");
        assert.match(await text(page, "p"), /Toast it\./);
        await clickAndWait(page, "a");
        assert.equal(page.url(), `${base}/`);
      });

      await step(t, page, "an unknown recipe is a 404 page", async () => {
        const response = await page.goto(`${base}/recipes/ravioli`);
        assert.equal(response?.status(), 404);
        assert.match(await page.content(), /Not Found/i);
      });
    } finally {
      await close();
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "examples/notes.ts in Chromium: log in, add a note with an upload, stay logged in, log out",
  ignore: missing !== undefined,
  fn: async (t) => {
    const { base, server } = serveLocal(makeFetch(new MemorySessionStore()));
    const { page, close } = await launch();
    const upload = await Deno.makeTempDir({ prefix: "pesto-upload-" });
    const file = `${upload}/shopping list.txt`;
    const content = "basil\ngarlic\npine nuts\n";
    await Deno.writeTextFile(file, content);
    try {
      await step(t, page, "a stranger sees the login form", async () => {
        const response = await page.goto(`${base}/`);
        assert.equal(response?.status(), 200);
        assert.ok(await page.$('form[action$="/login"] input[name="user"]'));
        assert.equal(await page.$('button::-p-text("Log out")'), null);
      });

      await step(t, page, "a wrong password is a 401 page", async () => {
        await page.type('input[name="user"]', "demo");
        await page.type('input[name="password"]', "wrong");
        const response = await clickAndWait(
          page,
          'form[action$="/login"] button',
        );
        assert.equal(response?.status(), 401);
        assert.equal(await text(page, ".error"), "Wrong user or password.");
        await clickAndWait(page, "a");
      });

      await step(t, page, "logging in redirects after the POST", async () => {
        await page.type('input[name="user"]', "demo");
        await page.type('input[name="password"]', "pesto");
        const response = await clickAndWait(
          page,
          'form[action$="/login"] button',
        );
        const chain = response!.request().redirectChain();
        assert.equal(chain.length, 1);
        assert.equal(chain[0].method(), "POST");
        assert.equal(chain[0].response()?.status(), 303);
        assert.equal(response?.status(), 200);
        assert.equal(page.url(), `${base}/`);
        assert.equal(await text(page, "h1"), "Your notes");
        assert.equal(await text(page, "button"), "Log out demo");
        assert.equal(await text(page, ".flash"), "Welcome, demo.");
      });

      await step(
        t,
        page,
        "the session cookie keeps the user logged in",
        async () => {
          const cookies = await page.browserContext().cookies();
          const session = cookies.find((cookie) => cookie.httpOnly);
          assert.ok(session, "an HttpOnly session cookie");
          assert.equal(session.sameSite, "Lax");
          assert.equal(
            await page.evaluate("document.cookie"),
            "",
            "scripts cannot read it",
          );
          await page.goto(`${base}/`);
          assert.equal(await text(page, "h1"), "Your notes");
          assert.match(await text(page, "body"), /No notes yet\./);
        },
      );

      await step(
        t,
        page,
        "a note without a title is shown again with the text typed",
        async () => {
          await page.type('input[name="title"]', "   ");
          await page.type('textarea[name="text"]', "Keep this text.");
          const response = await clickAndWait(
            page,
            'form[action$="/notes"] button',
          );
          assert.equal(response?.status(), 422);
          assert.equal(await text(page, "h1"), "Your notes");
          assert.equal(
            await text(page, "#title-error"),
            "A note needs a title.",
          );
          assert.equal(
            await page.$eval(
              'textarea[name="text"]',
              (area) => (area as unknown as { value: string }).value,
            ),
            "Keep this text.",
          );
          assert.equal(
            await page.$eval(
              'input[name="title"]',
              (input) => input.getAttribute("aria-invalid"),
            ),
            "true",
          );
          // Start again from an empty form, as the next step expects.
          await page.goto(`${base}/`);
        },
      );

      await step(t, page, "a form with an upload adds a note", async () => {
        await page.type('input[name="title"]', "Pesto");
        await page.type('textarea[name="text"]', "Blend it all.");
        const input = await page.$('input[name="attachment"]');
        await input!.uploadFile(file);
        const response = await clickAndWait(
          page,
          'form[action$="/notes"] button',
        );
        const chain = response!.request().redirectChain();
        assert.equal(chain[0].response()?.status(), 303);
        assert.match(page.url(), new RegExp(`^${base}/notes/\\d+$`));
        assert.equal(await text(page, "h1"), "Pesto");
        assert.equal(await text(page, ".note p"), "Blend it all.");
        const attachment = await page.$eval(
          ".note p + p",
          (p) => p.textContent,
        );
        assert.equal(
          attachment,
          `shopping list.txt (${
            new TextEncoder().encode(content).length
          } bytes)`,
        );
      });

      await step(
        t,
        page,
        "a flash message says the note was saved, once",
        async () => {
          assert.equal(await text(page, ".flash"), "Note saved.");
          const again = await page.reload();
          assert.equal(again?.status(), 200);
          assert.equal(await text(page, "h1"), "Pesto");
          assert.equal(await page.$(".flash"), null);
        },
      );

      await step(t, page, "the note is listed on the home page", async () => {
        await clickAndWait(page, 'a::-p-text("All notes")');
        assert.deepEqual(
          await page.$$eval(".note a", (as) => as.map((a) => a.textContent)),
          ["Pesto"],
        );
      });

      await step(
        t,
        page,
        "a second tab sees a new note appear without reloading",
        async () => {
          const other = await page.browserContext().newPage();
          other.setDefaultTimeout(15_000);
          try {
            await other.goto(`${base}/`);
            assert.deepEqual(
              await other.$$eval(
                "#notes .note a",
                (as) => as.map((a) => a.textContent),
              ),
              ["Pesto"],
            );
            // Set on this page only: a reload would lose it.
            await other.evaluate("window.notReloaded = true");
            // The first tab in front again (a tab behind does not submit).
            await page.bringToFront();
            await page.goto(`${base}/`);
            await page.type('input[name="title"]', "Live note");
            await clickAndWait(page, 'form[action$="/notes"] button');
            assert.equal(await text(page, "h1"), "Live note");
            await other.waitForFunction(
              `[...document.querySelectorAll("#notes .note a")]
                .some((a) => a.textContent === "Live note")`,
              { polling: 100 }, // the tab is behind: no animation frames
            );
            assert.deepEqual(
              await other.$$eval(
                "#notes .note a",
                (as) => as.map((a) => a.textContent),
              ),
              ["Pesto", "Live note"],
            );
            assert.equal(await other.evaluate("window.notReloaded"), true);
            // Deleted in the first tab: gone from the second.
            await clickAndWait(page, 'button::-p-text("Delete")');
            assert.equal(
              await text(page, ".flash"),
              "Note “Live note” deleted.",
            );
            await other.waitForFunction(
              `document.querySelectorAll("#notes .note a").length === 1`,
              { polling: 100 },
            );
            assert.equal(await other.evaluate("window.notReloaded"), true);
          } finally {
            await other.close();
          }
        },
      );

      await step(t, page, "an unknown note is a 404 page", async () => {
        const response = await page.goto(`${base}/notes/999`);
        assert.equal(response?.status(), 404);
        assert.match(await page.content(), /Not Found/i);
        assert.equal(await text(page, ".error"), "There is no such page.");
        const nowhere = await page.goto(`${base}/nowhere`);
        assert.equal(nowhere?.status(), 404);
      });

      await step(
        t,
        page,
        "an error page has the app's layout and a link back",
        async () => {
          assert.equal(await text(page, "h1"), "Not Found");
          assert.equal(await text(page, ".error"), "There is no such page.");
          assert.ok(await page.$('header img[src$="/static/logo.svg"]'));
          assert.equal(
            await page.evaluate("getComputedStyle(document.body).maxWidth"),
            "640px",
            "the app's stylesheet applies",
          );
          assert.equal(await text(page, "button"), "Log out demo");
          await clickAndWait(page, "a.back");
          assert.equal(page.url(), `${base}/`);
          assert.equal(await text(page, "h1"), "Your notes");
        },
      );

      await step(t, page, "logging out forgets the user", async () => {
        await page.goto(`${base}/`);
        const response = await clickAndWait(
          page,
          'form[action$="/logout"] button',
        );
        assert.equal(response?.status(), 200);
        assert.equal(await text(page, "h1"), "Notes");
        assert.ok(await page.$('form[action$="/login"]'));
        assert.equal(await text(page, ".flash"), "You are logged out.");
        await page.reload();
        assert.equal(await page.$(".flash"), null);
      });
    } finally {
      await close();
      await server.shutdown();
      await Deno.remove(upload, { recursive: true });
    }
  },
});

/** CRC-32 of `bytes` (the one PNG chunks end with). */
function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/**
 * A valid PNG of `width` x `height` RGB pixels of noise: noise does not
 * compress, so the file is about `3 * width * height` bytes.
 */
async function noisePng(width: number, height: number): Promise<Uint8Array> {
  const raw = new Uint8Array(height * (1 + 3 * width));
  let seed = 0x9e3779b9;
  for (let i = 0; i < raw.length; i++) {
    if (i % (1 + 3 * width) === 0) continue; // filter byte: none
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    raw[i] = seed & 0xff;
  }
  const zlib = new Uint8Array(
    await new Response(
      new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")),
    ).arrayBuffer(),
  );
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no interlace
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const outView = new DataView(out.buffer);
    outView.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    outView.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", zlib),
    chunk("IEND", new Uint8Array(0)),
  ];
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

/** Waits (15 s at most) until the browser has finished writing `path`. */
async function downloaded(path: string): Promise<Uint8Array> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      return await Deno.readFile(path);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`${path} was not downloaded`);
}

Deno.test({
  name:
    "deno task notes in Chromium, as the README says: a 100 KB photo uploaded through the form downloads the same",
  ignore: missing !== undefined,
  fn: async (t) => {
    const notes = await startNotesTask();
    const base = notes.base;
    const { browser, page, close } = await launch();
    const dir = await Deno.makeTempDir({ prefix: "pesto-photo-" });
    const photo = await noisePng(200, 167);
    await Deno.writeFile(`${dir}/photo.png`, photo);
    await Deno.mkdir(`${dir}/downloads`);
    try {
      await step(t, page, "the photo is over maxFileMemorySize", () => {
        assert.ok(photo.length > 64 * 1024 && photo.length < 110_000);
        return Promise.resolve();
      });

      await step(t, page, "logging in as demo", async () => {
        await page.goto(`${base}/`);
        await page.type('input[name="user"]', "demo");
        await page.type('input[name="password"]', "pesto");
        const response = await clickAndWait(
          page,
          'form[action$="/login"] button',
        );
        assert.equal(response?.status(), 200);
        assert.equal(await text(page, "h1"), "Your notes");
      });

      let attachmentUrl = "";
      await step(t, page, "the form uploads the photo", async () => {
        await page.type('input[name="title"]', "Holiday");
        const input = await page.$('input[name="attachment"]');
        await input!.uploadFile(`${dir}/photo.png`);
        const response = await clickAndWait(
          page,
          'form[action$="/notes"] button',
        );
        assert.equal(response?.status(), 200, notes.errors());
        assert.match(page.url(), new RegExp(`^${base}/notes/\\d+$`));
        assert.equal(await text(page, "h1"), "Holiday");
        assert.equal(
          await text(page, ".note p + p"),
          `photo.png (${photo.length} bytes)`,
        );
        const href = await page.$eval(
          'a[href$="/attachment"]',
          (a) => a.getAttribute("href") ?? "",
        );
        attachmentUrl = new URL(href, page.url()).href;
      });

      await step(t, page, "the browser shows it as a PNG image", async () => {
        const size = await page.evaluate(`(async () => {
          const image = new Image();
          image.src = ${JSON.stringify(attachmentUrl)};
          await image.decode();
          return [image.naturalWidth, image.naturalHeight];
        })()`);
        assert.deepEqual(size, [200, 167]);
      });

      await step(t, page, "downloading it gives the same bytes", async () => {
        const session = await browser.target().createCDPSession();
        await session.send("Browser.setDownloadBehavior", {
          behavior: "allow",
          downloadPath: `${dir}/downloads`,
        });
        await page.click('a[href$="/attachment"]');
        const bytes = await downloaded(`${dir}/downloads/photo.png`);
        assert.equal(bytes.length, photo.length);
        assert.deepEqual(bytes, photo);
        await session.detach();
      });

      await step(t, page, "the server logged no error", () => {
        assert.doesNotMatch(notes.errors(), /Error|maxFileMemorySize/);
        return Promise.resolve();
      });
    } finally {
      await close();
      await notes.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
