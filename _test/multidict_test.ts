import assert from "node:assert/strict";
import { MultiDict } from "@pesto/pesto";

Deno.test("new MultiDict() takes pairs, a MultiDict or a record", async (t) => {
  await t.step("empty", () => {
    const d = new MultiDict<string>();
    assert.equal(d.size, 0);
    assert.deepEqual([...d], []);
  });
  await t.step("pairs with repeated keys", () => {
    const d = new MultiDict([["a", "1"], ["b", "2"], ["a", "3"]]);
    assert.deepEqual([...d], [["a", "1"], ["b", "2"], ["a", "3"]]);
  });
  await t.step("another MultiDict, copied", () => {
    const a = new MultiDict([["a", 1]]);
    const b = new MultiDict(a);
    b.append("a", 2);
    assert.deepEqual(a.getAll("a"), [1]);
  });
  await t.step("a record whose arrays repeat a key", () => {
    const d = new MultiDict({ a: ["1", "2"], b: "3" });
    assert.deepEqual([...d], [["a", "1"], ["a", "2"], ["b", "3"]]);
  });
  await t.step("any iterable of pairs (URLSearchParams, Headers)", () => {
    const d = new MultiDict(new URLSearchParams("x=1&x=2"));
    assert.deepEqual(d.getAll("x"), ["1", "2"]);
  });
});

Deno.test("MultiDict reads first, all and distinct values", () => {
  const d = new MultiDict([["b", 1], ["a", 2], ["b", 3]]);
  assert.equal(d.get("b"), 1);
  assert.equal(d.get("z"), undefined);
  assert.deepEqual(d.getAll("b"), [1, 3]);
  assert.deepEqual(d.getAll("z"), []);
  assert.ok(d.has("a"));
  assert.ok(!d.has("z"));
  assert.equal(d.size, 2);
  assert.deepEqual([...d.keys()], ["b", "a"]);
  assert.deepEqual([...d.values()], [1, 2, 3]);
  assert.deepEqual([...d.entries()], [["b", 1], ["a", 2], ["b", 3]]);
  assert.deepEqual([...d.lists()], [["b", [1, 3]], ["a", [2]]]);
  assert.deepEqual(d.toObject(), { b: 1, a: 2 });
  assert.equal(JSON.stringify(d), '[["b",1],["a",2],["b",3]]');
  assert.equal(
    Deno.inspect(d),
    'MultiDict [ [ "b", 1 ], [ "a", 2 ], [ "b", 3 ] ]',
  );
});

Deno.test("MultiDict never hands out its internals", () => {
  const d = new MultiDict([["a", "1"]]);
  d.getAll("a").push("x");
  for (const pair of d.entries()) pair[1] = "changed";
  for (const [, values] of d.lists()) values.push("y");
  assert.deepEqual([...d], [["a", "1"]]);
});

Deno.test("MultiDict.set() replaces every value in the first one's place", async (t) => {
  await t.step("an existing key", () => {
    const d = new MultiDict([["a", "1"], ["b", "2"], ["a", "3"]]);
    assert.equal(d.set("a", "x"), d);
    assert.deepEqual([...d], [["a", "x"], ["b", "2"]]);
    assert.deepEqual(d.getAll("a"), ["x"]);
  });
  await t.step("a new key goes last", () => {
    const d = new MultiDict([["a", "1"]]).set("b", "2");
    assert.deepEqual([...d], [["a", "1"], ["b", "2"]]);
  });
});

Deno.test("MultiDict.append(), extend(), delete() and clear() change it", () => {
  const d = new MultiDict<string>().append("a", "1").append("a", "2");
  d.extend([["b", "3"], ["a", "4"]]).extend({ c: ["5", "6"] });
  assert.deepEqual([...d], [
    ["a", "1"],
    ["a", "2"],
    ["b", "3"],
    ["a", "4"],
    ["c", "5"],
    ["c", "6"],
  ]);
  d.extend(d);
  assert.equal(d.getAll("a").length, 6);
  assert.equal(d.delete("a"), true);
  assert.equal(d.delete("a"), false);
  assert.deepEqual([...d.keys()], ["b", "c"]);
  assert.deepEqual(d.getAll("a"), []);
  d.clear();
  assert.equal(d.size, 0);
  assert.deepEqual([...d], []);
});

Deno.test("MultiDict.forEach() and copy() see every pair", () => {
  const d = new MultiDict([["a", "1"], ["a", "2"]]);
  const seen: string[] = [];
  d.forEach((value, key, dict) => {
    assert.equal(dict, d);
    seen.push(key + value);
  });
  assert.deepEqual(seen, ["a1", "a2"]);
  const copy = d.copy();
  copy.set("a", "x");
  assert.deepEqual(d.getAll("a"), ["1", "2"]);
});
