// The layering checker (tools/check_layers.ts) on small fixture trees.
import assert from "node:assert/strict";
import path from "node:path";
import { checkLayers, formatViolation } from "../tools/check_layers.ts";

const TOOL = new URL("../tools/check_layers.ts", import.meta.url).pathname;

const ARCHITECTURE = [
  "# Architecture",
  "",
  "Prose may mention a ```layers block; only the fenced one counts.",
  "",
  "```layers",
  "# lowest first",
  "_runtime/*.ts        # the only place for runtime internals",
  "_http/*.ts _a.ts",
  "",
  "mod.ts               # public",
  "```",
  "",
].join("\n");

/** Lines 6-10 of ARCHITECTURE.md are lines 1-5 of the layers block. */
const BASE: Record<string, string> = {
  "ARCHITECTURE.md": ARCHITECTURE,
  "_runtime/core.ts": [
    "// deno-lint-ignore no-explicit-any",
    "const internal = (Deno as any)[(Deno as any).internal];",
    "export const core: unknown = Deno[Deno.internal]?.core ?? internal;",
    "export function detach(buffer: ArrayBuffer): ArrayBuffer {",
    "  return buffer.transfer(0);",
    "}",
    "",
  ].join("\n"),
  "_http/status.ts":
    "export type Status = 200 | 404;\nexport const OK = 200;\n",
  "_http/path.ts": [
    "import {",
    "  core,",
    "  detach,",
    '} from "../_runtime/core.ts";',
    'import type { Status } from "./status.ts";',
    "export const path = { core, detach, ok: 200 as Status };",
    "",
  ].join("\n"),
  "_a.ts": [
    'import { path } from "./_http/path.ts";',
    'import * as status from "./_http/status.ts";',
    'import { serve } from "npm:hono";',
    "const local = { x: 1 };",
    "local.x = 2;",
    "export const same = path.core === local && status.OK == 200;",
    "export const ratio = status.OK / 2 / local.x;",
    "export async function load(): Promise<unknown> {",
    '  return await import("./_http/status.ts");',
    "}",
    "export { serve };",
    "",
  ].join("\n"),
  "mod.ts": [
    'export * from "./_a.ts";',
    'export { path } from "./_http/path.ts";',
    'export type { Status } from "./_http/status.ts";',
    "",
  ].join("\n"),
  // Not library modules: neither listed nor checked.
  "_test/a_test.ts": 'import "../mod.ts";\nimport "../_a.ts";\n',
  "bench/a.ts": 'import "../mod.ts";\n',
  "examples/a.ts": 'import "../mod.ts";\n',
  "tools/a.ts": "Deno[Deno.internal];\n",
};

/** Writes `files` (base files replaced or, when null, removed) to a temp dir. */
async function makeTree(files: Record<string, string | null>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "check_layers_" });
  for (const [name, text] of Object.entries({ ...BASE, ...files })) {
    if (text === null) continue;
    await Deno.mkdir(path.join(root, path.dirname(name)), { recursive: true });
    await Deno.writeTextFile(path.join(root, name), text);
  }
  return root;
}

/** The violations in the base tree with `files` changed, as printed. */
async function violationsOf(
  files: Record<string, string | null>,
): Promise<string[]> {
  const root = await makeTree(files);
  try {
    return (await checkLayers({ root })).map(formatViolation);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Runs the checker as a command. */
async function runTool(
  args: string[],
): Promise<{ code: number; lines: string[] }> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", TOOL, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(stdout).trimEnd().split("\n");
  return { code, lines };
}

Deno.test("checkLayers()", async (t) => {
  await t.step("a clean tree passes", async () => {
    assert.deepEqual(await violationsOf({}), []);
  });

  await t.step("an import running up fails, naming both modules", async () => {
    const core = 'import { OK } from "../_http/status.ts";\n' +
      BASE["_runtime/core.ts"];
    assert.deepEqual(await violationsOf({ "_runtime/core.ts": core }), [
      '_runtime/core.ts:1: Imports "_http/status.ts", a higher layer ' +
      "(line 3 of the layers block, this module is on line 2)",
    ]);
  });

  await t.step("an import type running up fails", async () => {
    const core = 'import type {\n  Status,\n} from "../_http/status.ts";\n' +
      BASE["_runtime/core.ts"];
    assert.deepEqual(await violationsOf({ "_runtime/core.ts": core }), [
      '_runtime/core.ts:1: Imports "_http/status.ts", a higher layer ' +
      "(line 3 of the layers block, this module is on line 2)",
    ]);
  });

  await t.step("export ... from and import() running up fail", async () => {
    const status = [
      'export type { Path } from "../mod.ts";',
      'export * as all from "../mod.ts";',
      'export const later = () => import("../mod.ts");',
      "",
    ].join("\n");
    const found = await violationsOf({ "_http/status.ts": status });
    const up = '_http/status.ts:LINE: Imports "mod.ts", a higher layer ' +
      "(line 5 of the layers block, this module is on line 3)";
    for (const line of [1, 2, 3]) {
      assert.ok(
        found.includes(up.replace("LINE", `${line}`)),
        found.join("\n"),
      );
    }
  });

  await t.step("a cycle fails", async () => {
    const status =
      'import { path } from "./path.ts";\nexport const p = path;\n';
    assert.deepEqual(await violationsOf({ "_http/status.ts": status }), [
      "_http/path.ts:5: Import cycle: _http/path.ts -> _http/status.ts -> _http/path.ts",
    ]);
  });

  await t.step("a module importing itself is a cycle", async () => {
    const status =
      'import type { OK } from "./status.ts";\nexport const OK = 1;\n';
    assert.deepEqual(await violationsOf({ "_http/status.ts": status }), [
      "_http/status.ts:1: Import cycle: _http/status.ts -> _http/status.ts",
    ]);
  });

  await t.step("a side-effect import fails", async () => {
    const a =
      'import "./_http/status.ts";\nimport {} from "./_http/path.ts";\n' +
      BASE["_a.ts"];
    assert.deepEqual(await violationsOf({ "_a.ts": a }), [
      '_a.ts:1: Imports "_http/status.ts" for its side effects only',
      '_a.ts:2: Imports "_http/path.ts" for its side effects only',
    ]);
  });

  await t.step("a static block fails", async () => {
    const status = BASE["_http/status.ts"] +
      "export class Registry {\n  static #all = new Set();\n  static {\n    Registry.#all.add(1);\n  }\n}\n";
    assert.deepEqual(await violationsOf({ "_http/status.ts": status }), [
      "_http/status.ts:5: Static initialization block in a class",
    ]);
  });

  await t.step(
    "a write to a property of an imported binding fails",
    async () => {
      const a = BASE["_a.ts"] +
        'path.core = null;\nstatus["OK"] = 1;\npath.core!.x ??= 2;\ndelete path.detach;\n';
      assert.deepEqual(await violationsOf({ "_a.ts": a }), [
        '_a.ts:12: Writes to "path.core", a property of an imported binding',
        '_a.ts:13: Writes to "status["OK"]", a property of an imported binding',
        '_a.ts:14: Writes to "path.core.x", a property of an imported binding',
        '_a.ts:15: Writes to "path.detach", a property of an imported binding',
      ]);
    },
  );

  await t.step("type annotations naming an import are not writes", async () => {
    const a = BASE["_a.ts"] +
      "let s: status.Status = 200;\nfunction f(x: typeof status.OK = 200): void {}\n";
    assert.deepEqual(await violationsOf({ "_a.ts": a }), []);
  });

  await t.step(
    "runtime internals fail outside _runtime/, pass inside",
    async () => {
      const status = BASE["_http/status.ts"] +
        "const core = Deno[Deno.internal].core;\n" +
        "core.setAsyncContext(Object.getOwnPropertySymbols({}));\n" +
        "new ArrayBuffer(8).transfer(0);\n";
      assert.deepEqual(await violationsOf({ "_http/status.ts": status }), [
        "_http/status.ts:3: Uses Deno.internal outside _runtime/",
        "_http/status.ts:4: Uses get/setAsyncContext outside _runtime/",
        "_http/status.ts:4: Uses getOwnPropertySymbols outside _runtime/",
        "_http/status.ts:5: Uses .transfer() outside _runtime/",
      ]);
      const core = BASE["_runtime/core.ts"] + status;
      assert.deepEqual(await violationsOf({ "_runtime/core.ts": core }), []);
    },
  );

  await t.step("an unlisted module fails", async () => {
    const found = await violationsOf({
      "_session/store.ts": "export {};\n",
      "extra.ts": "",
    });
    assert.deepEqual(found, [
      "_session/store.ts:1: Not listed in the layers block of ARCHITECTURE.md",
      "extra.ts:1: Not listed in the layers block of ARCHITECTURE.md",
    ]);
  });

  await t.step("a listed path that matches nothing fails", async () => {
    const architecture = ARCHITECTURE.replace(
      "mod.ts ",
      "mod.ts _routing/*.ts gone.ts",
    );
    assert.deepEqual(await violationsOf({ "ARCHITECTURE.md": architecture }), [
      'ARCHITECTURE.md:10: "_routing/*.ts" matches no module',
      'ARCHITECTURE.md:10: "gone.ts" matches no module',
    ]);
  });

  await t.step("a module listed on two lines fails", async () => {
    const architecture = ARCHITECTURE.replace("mod.ts ", "mod.ts _a.ts");
    assert.deepEqual(await violationsOf({ "ARCHITECTURE.md": architecture }), [
      'ARCHITECTURE.md:10: "_a.ts" is already on line 3 of the layers block',
    ]);
  });

  await t.step("a missing layers block fails", async () => {
    const noBlock = await violationsOf({
      "ARCHITECTURE.md": "# Architecture\n",
    });
    assert.deepEqual(noBlock, [
      'ARCHITECTURE.md:1: No fenced code block with the info string "layers"',
    ]);
    const noFile = await violationsOf({ "ARCHITECTURE.md": null });
    assert.equal(noFile.length, 1);
    assert.match(noFile[0], /^ARCHITECTURE\.md:1: No such file/);
  });

  await t.step(
    "comments, strings and regexps that mention imports or static { pass",
    async () => {
      const a = [
        'import { path } from "./_http/path.ts";',
        '// import "./mod.ts"; static { path.x = 1; } Deno[Deno.internal]',
        '/* import { a } from "./mod.ts";',
        "   static { } */",
        "const note = \"import './mod.ts'; static { path.x = 1 }\";",
        "const quoted = 'it\\'s static { export * from \"./mod.ts\"';",
        'const template = `static {} ${`import "./mod.ts"`} ${note.length / 2}`;',
        'const pattern = /"static \\{ import "\\/mod.ts"/g;',
        "const slashes = [1 / 2, /[/]static {/];",
        "const own = { import: 1, static: 2 };",
        "own.static = path.core === null ? 1 : 2;",
        "export const a = { path, note, quoted, template, pattern, slashes, own };",
        "const half = path.size / 2; path.core = null; own.x = own.y / 2;",
        "const more = 4 / 2; path.detach = null; own.x = 4 / 2;",
        "",
      ].join("\n");
      // The scanner resumes at the right place after each of them: it finds
      // the real violations of the last lines, between divisions.
      assert.deepEqual(await violationsOf({ "_a.ts": a }), [
        '_a.ts:13: Writes to "path.core", a property of an imported binding',
        '_a.ts:14: Writes to "path.detach", a property of an imported binding',
      ]);
    },
  );

  await t.step("the command prints violations and exits 1", async () => {
    const a = 'import "./_http/status.ts";\n' + BASE["_a.ts"];
    const root = await makeTree({
      "_a.ts": a,
      "_http/status.ts": "static {\n",
    });
    try {
      assert.deepEqual(await runTool(["--root", root]), {
        code: 1,
        lines: [
          '_a.ts:1: Imports "_http/status.ts" for its side effects only',
          "_http/status.ts:1: Static initialization block in a class",
        ],
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });

  await t.step("the command passes a clean tree and exits 0", async () => {
    const root = await makeTree({ "ARCHITECTURE.md": null });
    const elsewhere = await Deno.makeTempFile({ suffix: ".md" });
    try {
      await Deno.writeTextFile(elsewhere, ARCHITECTURE);
      const { code, lines } = await runTool([
        "--root",
        root,
        "--architecture",
        elsewhere,
      ]);
      assert.equal(code, 0, lines.join("\n"));
      assert.equal(lines.at(-1), "layers: 5 modules, 8 imports, no violation");
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(elsewhere);
    }
  });
});
