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

      await step(t, page, "the note is listed on the home page", async () => {
        await clickAndWait(page, 'a::-p-text("All notes")');
        assert.deepEqual(
          await page.$$eval(".note a", (as) => as.map((a) => a.textContent)),
          ["Pesto"],
        );
      });

      await step(t, page, "an unknown note is a 404 page", async () => {
        const response = await page.goto(`${base}/notes/999`);
        assert.equal(response?.status(), 404);
        assert.match(await page.content(), /Not Found/i);
        const nowhere = await page.goto(`${base}/nowhere`);
        assert.equal(nowhere?.status(), 404);
      });

      await step(t, page, "logging out forgets the user", async () => {
        await page.goto(`${base}/`);
        const response = await clickAndWait(
          page,
          'form[action$="/logout"] button',
        );
        assert.equal(response?.status(), 200);
        assert.equal(await text(page, "h1"), "Notes");
        assert.ok(await page.$('form[action$="/login"]'));
      });
    } finally {
      await close();
      await server.shutdown();
      await Deno.remove(upload, { recursive: true });
    }
  },
});
