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
  html,
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
  // html`...` escapes what it interpolates; a list of html values is joined.
  const items = Object.keys(recipes).sort().map((recipe) =>
    html`<li><a href="${showRecipe.url({ recipe })}">${recipe}</a></li>`
  );
  return new Response(
    html`
      <html>
        <body>
          <h1>List of recipes</h1>
          <ul>${items}</ul>
        </body>
      </html>
    `,
  );
});

/** Displays a single recipe. */
export const showRecipe = app.match(
  "/recipes/<recipe:unicode>",
  "GET",
  (_request, { recipe }): Response => {
    if (!Object.hasOwn(recipes, recipe)) return Response.notFound();
    return new Response(html`
      <html>
        <body><h1>How to make ${recipe}</h1>
      <p>${recipes[recipe]}</p><a href="${recipeIndex.url()}">Back to index</a>
        </body>
      </html>
    `);
  },
);

if (import.meta.main) {
  for (const { methods, pattern } of app.routes()) {
    console.log(`  ${methods.join(", ").padEnd(10)} ${pattern}`);
  }
  serve({ fetch: compose(logger())(app) });
}
