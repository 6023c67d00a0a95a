// Runs concurrent requests with Deno's internals hidden, so that the
// current request is kept by node:async_hooks' AsyncLocalStorage instead.
// Prints "fallback" and one result per request.
// deno-lint-ignore no-explicit-any
Object.defineProperty(Deno, (Deno as any).internal, { value: undefined });
const { currentRequest, toHandler, Response } = await import("../mod.ts");

const fetch = toHandler(async (request) => {
  await new Promise((resolve) =>
    setTimeout(resolve, Number(request.query.get("delay")))
  );
  return new Response(
    `${currentRequest() === request}:${request.query.get("delay")}`,
  );
});
const answers = await Promise.all(
  [5, 1, 3, 0].map((delay) =>
    fetch(new Request(`http://localhost/?delay=${delay}`)).then((r) => r.text())
  ),
);
console.log(answers.join(","));
