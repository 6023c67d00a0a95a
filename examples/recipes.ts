/**
 * A longer example: `DispatcherApp` maps URLs to handlers, and each route
 * builds its own URL back (`showRecipe.url({ recipe })`).
 *
 *     deno run --allow-net --allow-env examples/recipes.ts
 *
 * It prints its routes, then the address it listens on, then one line per
 * request. Open http://localhost:8080/ (or the port in `PORT`).
 *
 * @module
 */
import {
  compose,
  DispatcherApp,
  escapeHtml,
  logger,
  Response,
  serve,
} from "@pesto/pesto";

const recipes: Record<string, string> = {
  pesto: "Blend garlic, oil, parmesan and pine nuts.",
  toast: "Put bread in toaster. Toast it.",
};

/** The application: import it to test it or to mount it elsewhere. */
export const app = new DispatcherApp();

/** Displays an index of available recipes. */
export const recipeIndex = app.match("/", "GET", (): Response => {
  const markup = ["<html><body><h1>List of recipes</h1><ul>"];
  for (const recipe of Object.keys(recipes).sort()) {
    markup.push(
      `<li><a href="${escapeHtml(showRecipe.url({ recipe }))}">${
        escapeHtml(recipe)
      }</a></li>`,
    );
  }
  markup.push("</ul></body></html>");
  return new Response(markup);
});

/** Displays a single recipe. */
export const showRecipe = app.match(
  "/recipes/<recipe:unicode>",
  "GET",
  (_request, { recipe }): Response => {
    if (!Object.hasOwn(recipes, recipe)) return Response.notFound();
    return new Response([
      `<html><body><h1>How to make ${escapeHtml(recipe)}</h1>`,
      `<p>${escapeHtml(recipes[recipe])}</p><a href="${
        escapeHtml(recipeIndex.url())
      }">Back to index</a>`,
      "</body></html>",
    ]);
  },
);

if (import.meta.main) {
  for (const { methods, pattern } of app.routes()) {
    console.log(`  ${methods.join(", ").padEnd(10)} ${pattern}`);
  }
  serve({ fetch: compose(logger())(app) });
}
