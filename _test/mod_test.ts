// The package as a whole: what every module it loads must keep.
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url);

// Deno hands V8 each module as its emitted JavaScript, comments kept, and V8
// stores a source with a single character past ASCII as two bytes per
// character: written in ASCII, the library takes 0.24 MB less V8 heap once
// imported (bench/README.md). Examples in the docs write other characters as
// `\u` escapes.
Deno.test("every module of the package is ASCII", async () => {
  const offenders: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, root));
    text.split("\n").forEach((line, i) => {
      const found = [...line].find((char) => char.codePointAt(0)! > 0x7f);
      if (found) {
        offenders.push(`${entry.name}:${i + 1}: ${JSON.stringify(found)}`);
      }
    });
  }
  assert.deepEqual(
    offenders,
    [],
    "write these as ASCII (a \\u escape in code, plain punctuation in prose)",
  );
});
