import assert from "node:assert/strict";
import { app, recipeIndex, showRecipe } from "../examples/recipes.ts";
import { handler } from "../examples/hello.ts";
import { bundle, type RunningScript, runOnPort } from "./_process.ts";

/** Runs an example as users do, and waits until it answers. */
function runExample(file: string): Promise<RunningScript> {
  return runOnPort(new URL(`../examples/${file}`, import.meta.url).pathname);
}

Deno.test("examples/hello.ts serves its page", async () => {
  assert.equal(await handler().text(), "<body><h1>Whoa Nelly!</h1></body>");
  const { base, stop } = await runExample("hello.ts");
  try {
    const response = await fetch(base + "/anything");
    assert.equal(response.status, 200);
    assert.equal(
      response.headers.get("content-type"),
      "text/html; charset=UTF-8",
    );
    assert.equal(await response.text(), "<body><h1>Whoa Nelly!</h1></body>");
  } finally {
    await stop();
  }
});

/** The README's promises for the recipes example, over HTTP at `base`. */
async function checkRecipes(t: Deno.TestContext, base: string): Promise<void> {
  await t.step(
    "the index lists pesto and toast with absolute links",
    async () => {
      const html = await (await fetch(base + "/")).text();
      assert.match(
        html,
        new RegExp(`<a href="${base}/recipes/pesto">pesto</a>`),
      );
      assert.match(
        html,
        new RegExp(`<a href="${base}/recipes/toast">toast</a>`),
      );
    },
  );
  await t.step("a recipe shows and links back", async () => {
    const html = await (await fetch(base + "/recipes/toast")).text();
    assert.match(html, /<h1>How to make toast<\/h1>/);
    assert.match(html, /Put bread in toaster/);
    assert.match(html, new RegExp(`<a href="${base}/">Back to index</a>`));
  });
  await t.step("an unknown recipe is 404", async () => {
    const response = await fetch(base + "/recipes/nope");
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });
  await t.step("POST / is 405 with Allow: GET, HEAD", async () => {
    const response = await fetch(base + "/", { method: "POST" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "GET, HEAD");
    await response.body?.cancel();
  });
  await t.step(
    "HEAD / answers with the GET headers and no body",
    async () => {
      const get = await fetch(base + "/");
      const length = (await get.arrayBuffer()).byteLength;
      const head = await fetch(base + "/", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(length));
      assert.equal(await head.text(), "");
    },
  );
}

Deno.test("examples/recipes.ts works over HTTP as the README says", async (t) => {
  const { base, stop } = await runExample("recipes.ts");
  try {
    await checkRecipes(t, base);
  } finally {
    await stop();
  }
});

Deno.test("examples/recipes.ts works the same bundled into one file by deno bundle", async (t) => {
  const outDir = await Deno.makeTempDir();
  try {
    const script = await bundle(
      new URL("../examples/recipes.ts", import.meta.url).pathname,
      outDir,
    );
    const source = await Deno.readTextFile(script);
    assert.doesNotMatch(source, /^import /m, "the bundle imports nothing");
    const { base, stop } = await runOnPort(script);
    try {
      await checkRecipes(t, base);
    } finally {
      await stop();
    }
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("examples/recipes.ts exports its app and routes", async () => {
  assert.equal(
    recipeIndex.url(undefined, { host: "h.test" }),
    "http://h.test/",
  );
  assert.equal(showRecipe.path({ recipe: "pesto" }), "/recipes/pesto");
  const response = await app.fetch(
    new Request("http://h.test/recipes/%3Cb%3E"),
  );
  assert.equal(response.status, 404);
});
