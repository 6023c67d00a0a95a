/**
 * Checks how the library's modules may depend on each other.
 *
 * The library modules are the `.ts` files at the root and in the folders
 * whose name starts with `_` (and below them), except `_test/`; `bench/`,
 * `examples/`, `tools/` and `node_modules/` are never library code. An import
 * is `import ... from`, `import type`, `export ... from` and a dynamic
 * `import("./x.ts")` whose specifier is relative (`./`, `../`) and names a
 * library module; bare specifiers (`hono`, `node:...`, `npm:...`) are ignored.
 *
 * 1. Layers. `ARCHITECTURE.md` at the root holds one fenced code block whose
 *    info string is `layers`. Each non-empty line of it is a layer, lowest
 *    first: module paths relative to the root separated by spaces, where `*`
 *    matches within one folder (`_runtime/*.ts`); `#` starts a comment.
 *    Layers are named by their line in the block, counting from 1 after the
 *    opening fence. A module may import modules of its own layer or lower
 *    ones, never higher ones. Every library module is listed on exactly one
 *    line, and every path listed matches a module.
 * 2. No import cycle, `import type` included.
 * 3. No import for side effects only (`import "./x.ts";`, or
 *    `import {} from "./x.ts"`).
 * 4. No class `static {` block, and no write to a property of an imported
 *    binding (`hooks.x = ...`, `hooks["x"] = ...`, `delete hooks.x`, `++`).
 * 5. The runtime fence: only modules under `_runtime/` may use `Deno.internal`
 *    (`Deno[Deno.internal]`, `(Deno as any).internal`),
 *    `getOwnPropertySymbols`, `.transfer(` or `getAsyncContext` and
 *    `setAsyncContext`.
 *
 * The rules read a scan of the source in which comments are blanked out and
 * strings are tokens, so text that only mentions an import or `static {` in
 * a comment or a string does not count; an import is reported at the line of
 * its `import` or `export` keyword. Rule 5 looks at the
 * source without comments but with its strings (`core["getAsyncContext"]`
 * counts). A local variable that shadows an imported name is not told apart
 * from the import.
 *
 * Each violation is printed as `file:line: Message`, then the exit code is 1;
 * when there is none the tool prints `layers: N modules, M imports, no
 * violation`.
 *
 * ```sh
 * deno run --allow-read tools/check_layers.ts [--root DIR] [--architecture FILE]
 * ```
 *
 * `--root` defaults to the current directory and `--architecture` to
 * `ARCHITECTURE.md` under the root.
 *
 * @module
 */

import path from "node:path";
import { parseArgs } from "node:util";

/** One broken rule, at a line of a file relative to the root. */
export interface Violation {
  file: string;
  line: number;
  message: string;
}

/** Where to check. */
export interface CheckOptions {
  /** The repository root; the current directory by default. */
  root?: string;
  /** The file holding the layers block; `ARCHITECTURE.md` under the root by default. */
  architecture?: string;
}

/** The result of a check, with what was counted. */
export interface Report {
  modules: number;
  imports: number;
  violations: Violation[];
}

interface Token {
  kind: "name" | "punct" | "string" | "template" | "regex" | "number";
  text: string;
  line: number;
}

interface ImportStatement {
  specifier: string;
  /** The module imported, relative to the root, for a relative specifier. */
  target: string | undefined;
  line: number;
  /** The local names it binds. */
  bindings: string[];
  /** Whether it binds nothing and is not `import type`. */
  sideEffect: boolean;
}

interface Module {
  path: string;
  tokens: Token[];
  /** The source with its comments blanked out. */
  code: string;
  imports: ImportStatement[];
}

interface LayerLine {
  /** The line in the layers block, from 1: the layer's name. */
  blockLine: number;
  /** The line in the architecture file. */
  fileLine: number;
  patterns: string[];
}

interface Architecture {
  file: string;
  lines: LayerLine[] | undefined;
  violations: Violation[];
}

/** Module -> module it imports -> line of the first such import. */
type Graph = Map<string, Map<string, number>>;

/** An import as read from the tokens, before its specifier is resolved. */
type FoundImport = Omit<ImportStatement, "target">;

// deno-fmt-ignore
const NOT_LIBRARY = new Set(["_test", "bench", "examples", "tools", "node_modules"]);

const RUNTIME_FOLDER = "_runtime/";

const FENCE: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: /\bDeno\b[^;\n]*?\.internal\b/, what: "Deno.internal" },
  { pattern: /\bgetOwnPropertySymbols\b/, what: "getOwnPropertySymbols" },
  { pattern: /\.transfer\s*\(/, what: ".transfer()" },
  { pattern: /\b[gs]etAsyncContext\b/, what: "get/setAsyncContext" },
];

// deno-fmt-ignore
const ASSIGNMENTS = new Set([
  "=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=",
  "^=", "&&=", "||=", "??=", "++", "--",
]);

/** Tokens before a name that make it a write target: `delete x.y`, `++x.y`. */
const WRITE_PREFIXES = new Set(["delete", "++", "--"]);

/**
 * Tokens before a name that put it in a type, where `ns.Type = value` is an
 * annotation followed by an initializer, not a write.
 */
// deno-fmt-ignore
const TYPE_CONTEXT = new Set([":", "|", "&", "extends", "typeof", "keyof", "readonly"]);

/** Words after which a `/` starts a regular expression, not a division. */
// deno-fmt-ignore
const BEFORE_EXPRESSION = new Set([
  "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
  "throw", "case", "do", "else", "yield", "await",
]);

/** Punctuators after which a `/` is a division. */
const AFTER_OPERAND = new Set([")", "]", "}", "++", "--"]);

const NAME = /[\p{ID_Start}$_#][\p{ID_Continue}$\u200c\u200d]*/uy;
const NUMBER = /\.?\d[\w.]*/y;
const PUNCT =
  /\.\.\.|>>>=|===|!==|\*\*=|<<=|>>=|>>>|&&=|\|\|=|\?\?=|\?\.(?!\d)|=>|==|!=|<=|>=|&&|\|\||\?\?|\+\+|--|[-+*/%&|^]=|\*\*|<<|>>|\S/y;

/** Splits TypeScript source into tokens, keeping where its comments are. */
class Lexer {
  readonly #source: string;
  readonly #tokens: Token[] = [];
  readonly #comments: Array<[number, number]> = [];
  /** Open `{` and `${`, to know where a template literal resumes. */
  readonly #braces: Array<"block" | "template"> = [];
  #pos = 0;
  #line = 1;
  #nextNewline: number;

  constructor(source: string) {
    this.#source = source;
    this.#nextNewline = source.indexOf("\n");
  }

  /** The tokens and the `[start, end)` offsets of the comments. */
  run(): { tokens: Token[]; comments: Array<[number, number]> } {
    while (this.#pos < this.#source.length) this.#step();
    return { tokens: this.#tokens, comments: this.#comments };
  }

  #step(): void {
    const source = this.#source;
    const start = this.#pos;
    const char = source[start];
    if (/\s/.test(char)) this.#pos++;
    else if (
      source.startsWith("//", start) || (start === 0 && source.startsWith("#!"))
    ) {
      this.#comment(source.indexOf("\n", start));
    } else if (source.startsWith("/*", start)) {
      const end = source.indexOf("*/", start + 2);
      this.#comment(end === -1 ? -1 : end + 2);
    } else if (char === '"' || char === "'") this.#string(char);
    else if (char === "`") this.#template(start + 1);
    else if (char === "}" && this.#braces.at(-1) === "template") {
      this.#braces.pop();
      this.#template(start + 1);
    } else if (char === "/" && this.#regexAllowed() && this.#regex()) return;
    else if (!this.#match(NAME, "name") && !this.#match(NUMBER, "number")) {
      this.#punct();
    }
  }

  #comment(end: number): void {
    const stop = end === -1 ? this.#source.length : end;
    this.#comments.push([this.#pos, stop]);
    this.#pos = stop;
  }

  #string(quote: string): void {
    const source = this.#source;
    let i = this.#pos + 1;
    while (i < source.length && source[i] !== quote && source[i] !== "\n") {
      i += source[i] === "\\" ? 2 : 1;
    }
    this.#emit("string", source.slice(this.#pos + 1, i), this.#pos);
    this.#pos = i + 1;
  }

  /**
   * A piece of a template literal from `from`: up to `${` (a "template"
   * token, an expression follows) or up to the closing backtick (a "string").
   */
  #template(from: number): void {
    const source = this.#source;
    for (let i = from; i < source.length; i += source[i] === "\\" ? 2 : 1) {
      if (source[i] === "`") {
        this.#emit("string", source.slice(from, i), from - 1);
        this.#pos = i + 1;
        return;
      }
      if (source.startsWith("${", i)) {
        this.#emit("template", source.slice(from, i), from - 1);
        this.#braces.push("template");
        this.#pos = i + 2;
        return;
      }
    }
    this.#emit("string", source.slice(from), from - 1);
    this.#pos = source.length;
  }

  #regexAllowed(): boolean {
    const previous = this.#tokens.at(-1);
    if (previous === undefined) return true;
    if (previous.kind === "name") return BEFORE_EXPRESSION.has(previous.text);
    if (previous.kind === "punct") return !AFTER_OPERAND.has(previous.text);
    return previous.kind === "template";
  }

  /** Reads a regular expression literal; false if the line has no end for it. */
  #regex(): boolean {
    const source = this.#source;
    let inClass = false;
    let i = this.#pos + 1;
    for (; source[i] !== "/" || inClass; i++) {
      if (i >= source.length || source[i] === "\n") return false;
      if (source[i] === "\\") i++;
      else if (source[i] === "[") inClass = true;
      else if (source[i] === "]") inClass = false;
    }
    i++;
    while (/[a-z]/.test(source[i] ?? "")) i++;
    this.#emit("regex", source.slice(this.#pos, i), this.#pos);
    this.#pos = i;
    return true;
  }

  #match(pattern: RegExp, kind: Token["kind"]): boolean {
    pattern.lastIndex = this.#pos;
    const found = pattern.exec(this.#source);
    if (found === null) return false;
    this.#emit(kind, found[0], this.#pos);
    this.#pos += found[0].length;
    return true;
  }

  #punct(): void {
    this.#match(PUNCT, "punct");
    const text = this.#tokens[this.#tokens.length - 1].text;
    if (text === "{") this.#braces.push("block");
    else if (text === "}") this.#braces.pop();
  }

  #emit(kind: Token["kind"], text: string, offset: number): void {
    while (this.#nextNewline !== -1 && this.#nextNewline < offset) {
      this.#line++;
      this.#nextNewline = this.#source.indexOf("\n", this.#nextNewline + 1);
    }
    this.#tokens.push({ kind, text, line: this.#line });
  }
}

function at(file: string, line: number, message: string): Violation {
  return { file, line, message };
}

/** `source` with every character of its comments but newlines made a space. */
function blankComments(
  source: string,
  comments: Array<[number, number]>,
): string {
  let code = "";
  let from = 0;
  for (const [start, end] of comments) {
    code += source.slice(from, start) +
      source.slice(start, end).replace(/[^\n]/g, " ");
    from = end;
  }
  return code + source.slice(from);
}

/** Whether the name at `i` is a property (`x.import`), not a keyword or binding. */
function isProperty(tokens: Token[], i: number): boolean {
  const previous = tokens[i - 1]?.text;
  return previous === "." || previous === "?.";
}

/** The module a relative specifier names, relative to the root. */
function resolveSpecifier(
  importer: string,
  specifier: string,
): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
    return undefined;
  }
  const target = path.posix.normalize(
    path.posix.join(path.posix.dirname(importer), specifier),
  );
  return target.startsWith("../") ? undefined : target;
}

/**
 * The `import` at `i`: side-effect (`import "x"`), dynamic (`import("x")`),
 * or with a clause (`import a, { b as c, type D } from "x"`,
 * `import * as ns from "x"`, `import type ...`).
 */
function readImport(
  tokens: Token[],
  i: number,
): FoundImport | undefined {
  const line = tokens[i].line;
  const next = tokens[i + 1];
  if (next?.kind === "string") {
    return { specifier: next.text, line, bindings: [], sideEffect: true };
  }
  if (next?.text === "(" && tokens[i + 2]?.kind === "string") {
    const specifier = tokens[i + 2].text;
    return { specifier, line, bindings: [], sideEffect: false };
  }
  const typeOnly = next?.text === "type" &&
    !["from", ","].includes(tokens[i + 2]?.text);
  const bindings: string[] = [];
  for (let j = i + 1; j < tokens.length; j++) {
    const token = tokens[j];
    const ends = token.text === "from" && tokens[j + 1]?.kind === "string";
    if (
      (ends || token.text === "," || token.text === "}") &&
      tokens[j - 1].kind === "name"
    ) {
      if (j - 1 > i + (typeOnly ? 1 : 0)) bindings.push(tokens[j - 1].text);
    }
    if (ends) {
      const sideEffect = bindings.length === 0 && !typeOnly;
      return { specifier: tokens[j + 1].text, line, bindings, sideEffect };
    }
    if (token.kind !== "name" && !["{", "}", ",", "*"].includes(token.text)) {
      return undefined;
    }
  }
  return undefined;
}

/** The `export` at `i` if it re-exports: `export * from`, `export type { X } from`. */
function readReExport(
  tokens: Token[],
  i: number,
): FoundImport | undefined {
  let j = tokens[i + 1]?.text === "type" ? i + 2 : i + 1;
  let sideEffect = false;
  if (tokens[j]?.text === "*") {
    j += tokens[j + 1]?.text === "as" ? 3 : 1;
  } else if (tokens[j]?.text === "{") {
    const open = j;
    do j++; while (tokens[j]?.kind === "name" || tokens[j]?.text === ",");
    if (tokens[j]?.text !== "}") return undefined;
    sideEffect = j === open + 1 && tokens[i + 1].text !== "type";
    j++;
  } else return undefined;
  if (tokens[j]?.text !== "from" || tokens[j + 1]?.kind !== "string") {
    return undefined;
  }
  const specifier = tokens[j + 1].text;
  return { specifier, line: tokens[i].line, bindings: [], sideEffect };
}

/** Every import of a module, in source order. */
function findImports(modulePath: string, tokens: Token[]): ImportStatement[] {
  const imports: ImportStatement[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].kind !== "name" || isProperty(tokens, i)) continue;
    const found = tokens[i].text === "import"
      ? readImport(tokens, i)
      : tokens[i].text === "export"
      ? readReExport(tokens, i)
      : undefined;
    const target = found && resolveSpecifier(modulePath, found.specifier);
    if (found) imports.push({ ...found, target });
  }
  return imports;
}

function isLibraryFolder(parent: string, name: string): boolean {
  if (NOT_LIBRARY.has(name) || name.startsWith(".")) return false;
  return parent !== "" || name.startsWith("_");
}

/** The library modules under `root`, relative to it, sorted. */
async function listModules(root: string, folder = ""): Promise<string[]> {
  const modules: string[] = [];
  for await (const entry of Deno.readDir(path.join(root, folder))) {
    const relative = folder === "" ? entry.name : `${folder}/${entry.name}`;
    if (entry.isFile && entry.name.endsWith(".ts")) modules.push(relative);
    else if (entry.isDirectory && isLibraryFolder(folder, entry.name)) {
      modules.push(...await listModules(root, relative));
    }
  }
  return modules.sort();
}

async function readModule(root: string, modulePath: string): Promise<Module> {
  const source = await Deno.readTextFile(path.join(root, modulePath));
  const { tokens, comments } = new Lexer(source).run();
  const code = blankComments(source, comments);
  const imports = findImports(modulePath, tokens);
  return { path: modulePath, tokens, code, imports };
}

/** The lines of the one fenced code block with the info string `layers`. */
function findLayersBlock(
  text: string,
  file: string,
): { firstLine: number; lines: string[] } | Violation {
  const lines = text.split(/\r?\n/);
  const opening = lines.map((line) =>
    /^ {0,3}(`{3,}|~{3,})\s*layers(\s.*)?$/.exec(line)
  );
  const starts = opening.flatMap((found, index) => found ? [index] : []);
  if (starts.length !== 1) {
    const message = starts.length === 0
      ? 'No fenced code block with the info string "layers"'
      : `More than one layers block (the first opens on line ${starts[0] + 1})`;
    return at(file, (starts[1] ?? 0) + 1, message);
  }
  const fence = opening[starts[0]]![1];
  const closing = new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`);
  const end = lines.findIndex((line, index) =>
    index > starts[0] && closing.test(line)
  );
  return {
    firstLine: starts[0] + 2,
    lines: lines.slice(starts[0] + 1, end === -1 ? lines.length : end),
  };
}

/** The layers written in the architecture file, lowest first. */
async function readArchitecture(
  file: string,
  shownAs: string,
): Promise<Architecture> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const message =
      "No such file: it should hold the layers, in a fenced code block " +
      'with the info string "layers"';
    return {
      file: shownAs,
      lines: undefined,
      violations: [at(shownAs, 1, message)],
    };
  }
  const block = findLayersBlock(text, shownAs);
  if ("message" in block) {
    return { file: shownAs, lines: undefined, violations: [block] };
  }
  const lines = block.lines.flatMap((line, index): LayerLine[] => {
    const patterns = line.replace(/#.*/, "").split(/\s+/).filter((word) =>
      word !== ""
    );
    const numbers = { blockLine: index + 1, fileLine: block.firstLine + index };
    return patterns.length === 0 ? [] : [{ ...numbers, patterns }];
  });
  return { file: shownAs, lines, violations: [] };
}

/** A layers pattern as a regular expression: `*` matches within one folder. */
function globPattern(glob: string): RegExp {
  const escaped = glob.replace(/^\.\//, "").split("*").map((part) =>
    part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
  );
  return new RegExp(`^${escaped.join("[^/]*")}$`);
}

/** Which layer line each module is on, and what is listed wrongly or not at all. */
function placeModules(
  architecture: Architecture,
  modules: string[],
): { layerOf: Map<string, LayerLine>; violations: Violation[] } {
  const layerOf = new Map<string, LayerLine>();
  const violations: Violation[] = [];
  for (const line of architecture.lines ?? []) {
    for (const glob of line.patterns) {
      const matching = modules.filter((module) =>
        globPattern(glob).test(module)
      );
      if (matching.length === 0) {
        violations.push(
          at(architecture.file, line.fileLine, `"${glob}" matches no module`),
        );
      }
      for (const module of matching) {
        const placed = layerOf.get(module);
        if (placed === undefined) layerOf.set(module, line);
        else if (placed !== line) {
          const message =
            `"${module}" is already on line ${placed.blockLine} of the layers block`;
          violations.push(at(architecture.file, line.fileLine, message));
        }
      }
    }
  }
  if (architecture.lines === undefined) return { layerOf, violations };
  for (const module of modules.filter((module) => !layerOf.has(module))) {
    const message = `Not listed in the layers block of ${architecture.file}`;
    violations.push(at(module, 1, message));
  }
  return { layerOf, violations };
}

/** Imports of a module from a higher layer than its own. */
function layerViolations(
  module: Module,
  layerOf: Map<string, LayerLine>,
): Violation[] {
  const own = layerOf.get(module.path);
  if (own === undefined) return [];
  return module.imports.flatMap((statement): Violation[] => {
    const layer = statement.target === undefined
      ? undefined
      : layerOf.get(statement.target);
    if (layer === undefined || layer.blockLine <= own.blockLine) return [];
    const message = `Imports "${statement.target}", a higher layer ` +
      `(line ${layer.blockLine} of the layers block, this module is on line ${own.blockLine})`;
    return [at(module.path, statement.line, message)];
  });
}

function importGraph(modules: Module[]): Graph {
  const known = new Set(modules.map((module) => module.path));
  const graph: Graph = new Map();
  for (const module of modules) {
    const edges = new Map<string, number>();
    for (const { target, line } of module.imports) {
      if (target !== undefined && known.has(target) && !edges.has(target)) {
        edges.set(target, line);
      }
    }
    graph.set(module.path, edges);
  }
  return graph;
}

/** The strongly connected components of the graph (Tarjan's algorithm). */
function stronglyConnected(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  function visit(node: string): void {
    index.set(node, index.size);
    low.set(node, index.size - 1);
    stack.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) visit(next);
      if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const start = stack.lastIndexOf(node);
    components.push(stack.splice(start).sort());
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components;
}

/** A shortest path from `start` back to itself within `component`. */
function shortestCycle(
  graph: Graph,
  start: string,
  component: Set<string>,
): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  for (const node of queue) {
    for (const next of graph.get(node)?.keys() ?? []) {
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0])!);
        return [...path, start];
      }
      if (component.has(next) && !previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [];
}

/** One cycle for each set of modules that import each other. */
function cycleViolations(graph: Graph): Violation[] {
  return stronglyConnected(graph).flatMap((component): Violation[] => {
    const cycle = shortestCycle(graph, component[0], new Set(component));
    if (cycle.length === 0) return [];
    const others = component.length > cycle.length - 1
      ? ` (one of the cycles among ${component.length} modules)`
      : "";
    const line = graph.get(cycle[0])!.get(cycle[1])!;
    return [at(cycle[0], line, `Import cycle: ${cycle.join(" -> ")}${others}`)];
  });
}

function sideEffectViolations(module: Module): Violation[] {
  return module.imports
    .filter(({ sideEffect, target }) => sideEffect && target !== undefined)
    .map(({ target, line }) =>
      at(module.path, line, `Imports "${target}" for its side effects only`)
    );
}

function staticBlockViolations(module: Module): Violation[] {
  const { tokens } = module;
  return tokens
    .filter((token, i) =>
      token.kind === "name" && token.text === "static" &&
      tokens[i + 1]?.text === "{" && !isProperty(tokens, i)
    )
    .map(({ line }) =>
      at(module.path, line, "Static initialization block in a class")
    );
}

/** The index after `binding.a["b"]!.c` starting at the binding's index, and its text. */
function memberChain(
  tokens: Token[],
  i: number,
): { end: number; text: string } {
  let j = i + 1;
  let text = tokens[i].text;
  for (;;) {
    if (tokens[j]?.text === "!") j++;
    else if (tokens[j]?.text === "." && tokens[j + 1]?.kind === "name") {
      text += `.${tokens[j + 1].text}`;
      j += 2;
    } else if (tokens[j]?.text === "[") {
      const open = j;
      for (let depth = 0; j < tokens.length; j++) {
        depth += tokens[j].text === "[" ? 1 : tokens[j].text === "]" ? -1 : 0;
        if (depth === 0) break;
      }
      text += open + 2 === j && tokens[open + 1].kind === "string"
        ? `["${tokens[open + 1].text}"]`
        : "[...]";
      j++;
    } else return { end: j, text };
  }
}

/** The property written if the name at `i` starts a write (`a.b = `, `delete a.b`). */
function propertyWritten(tokens: Token[], i: number): string | undefined {
  const before = tokens[i - 1]?.text ?? "";
  if (isProperty(tokens, i) || TYPE_CONTEXT.has(before)) return undefined;
  const { end, text } = memberChain(tokens, i);
  if (end === i + 1) return undefined;
  const writes = ASSIGNMENTS.has(tokens[end]?.text) ||
    WRITE_PREFIXES.has(before);
  return writes ? text : undefined;
}

/** Writes to a property of a binding the module imported. */
function importedWriteViolations(module: Module): Violation[] {
  const imported = new Set(module.imports.flatMap(({ bindings }) => bindings));
  return module.tokens.flatMap((token, i): Violation[] => {
    if (token.kind !== "name" || !imported.has(token.text)) return [];
    const written = propertyWritten(module.tokens, i);
    if (written === undefined) return [];
    const message = `Writes to "${written}", a property of an imported binding`;
    return [at(module.path, token.line, message)];
  });
}

/** Uses of runtime internals outside `_runtime/`. */
function fenceViolations(module: Module): Violation[] {
  if (module.path.startsWith(RUNTIME_FOLDER)) return [];
  return module.code.split("\n").flatMap((text, index): Violation[] =>
    FENCE.filter(({ pattern }) => pattern.test(text)).map(({ what }) =>
      at(module.path, index + 1, `Uses ${what} outside ${RUNTIME_FOLDER}`)
    )
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders violations by file, line and message. */
function byPlace(a: Violation, b: Violation): number {
  return compareText(a.file, b.file) || a.line - b.line ||
    compareText(a.message, b.message);
}

/** Checks the rules and counts the modules and their imports of each other. */
export async function analyzeLayers(
  options: CheckOptions = {},
): Promise<Report> {
  const root = path.resolve(options.root ?? ".");
  const file = path.resolve(
    options.architecture ?? path.join(root, "ARCHITECTURE.md"),
  );
  const relative = path.relative(root, file).split(path.sep).join("/");
  const shownAs = relative.startsWith("../") || path.isAbsolute(relative)
    ? file
    : relative;
  const paths = await listModules(root);
  const modules = await Promise.all(
    paths.map((modulePath) => readModule(root, modulePath)),
  );
  const architecture = await readArchitecture(file, shownAs);
  const { layerOf, violations: placement } = placeModules(architecture, paths);
  const graph = importGraph(modules);
  const violations = [
    ...architecture.violations,
    ...placement,
    ...cycleViolations(graph),
    ...modules.flatMap((module) => [
      ...layerViolations(module, layerOf),
      ...sideEffectViolations(module),
      ...staticBlockViolations(module),
      ...importedWriteViolations(module),
      ...fenceViolations(module),
    ]),
  ];
  const known = new Set(paths);
  const imports = modules.flatMap((module) => module.imports)
    .filter(({ target }) => target !== undefined && known.has(target)).length;
  return {
    modules: paths.length,
    imports,
    violations: violations.sort(byPlace),
  };
}

/** The violations of the layering rules in the tree at `options.root`. */
export async function checkLayers(
  options: CheckOptions = {},
): Promise<Violation[]> {
  return (await analyzeLayers(options)).violations;
}

/** A violation as Deno prints errors: `file:line: Message`. */
export function formatViolation(violation: Violation): string {
  return `${violation.file}:${violation.line}: ${violation.message}`;
}

/** Runs the check from the command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: "string", default: "." },
      architecture: { type: "string" },
    },
  });
  const report = await analyzeLayers(values);
  for (const violation of report.violations) {
    console.log(formatViolation(violation));
  }
  if (report.violations.length > 0) return 1;
  console.log(
    `layers: ${report.modules} modules, ${report.imports} imports, no violation`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
