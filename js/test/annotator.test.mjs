import test from "node:test";
import assert from "node:assert/strict";
import { Annotator } from "../worker/annotator.js";
import { ModelClient, ModelError } from "../worker/client.js";
import { scriptedFetch, maskResponse } from "./helpers.mjs";

const W = 4;
const H = 3;
const EXTREMES = [[1, 0], [0, 1], [2, 2], [3, 1]];

function annotator(replies, labels = ["cat", "dog"]) {
  const { fetch, calls } = scriptedFetch(replies);
  const client = new ModelClient({ url: "http://proxy", fetch, retries: 0, sleep: async () => {} });
  const a = new Annotator({ width: W, height: H, image: { b64: "eA==" }, labels, palette: ["#1f77b4", "#ff7f0e"], client });
  return { a, calls };
}

async function extremes(a) {
  for (const [x, y] of EXTREMES) await a.click(x, y);
}

// column-major runs over a 3x4 image: first column background, rest object
const FIRST = maskResponse(W, H, [3, 9]);
// only the last column
const SECOND = maskResponse(W, H, [9, 3]);

test("the model is called once the fourth extreme point is in, then after each corrective click", async () => {
  const { a, calls } = annotator([{ json: FIRST }, { json: SECOND }]);
  await extremes(a);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].body.clicks.map((c) => c.kind), ["extreme", "extreme", "extreme", "extreme"]);
  assert.equal(calls[0].body.previous_mask, null);
  assert.deepEqual(Array.from(a.maskOf()), [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]);
  await a.click(0.5, 0.5, "negative");
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1].body.previous_mask, FIRST.mask);
  assert.deepEqual(calls[1].body.image, { hash: "h1" });
  assert.deepEqual(Array.from(a.maskOf()), [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

test("undo shows the earlier mask without asking the model; below four clicks there is no mask", async () => {
  const { a, calls } = annotator([{ json: FIRST }, { json: SECOND }]);
  await extremes(a);
  await a.click(2, 1, "positive");
  const back = await a.undo();
  assert.equal(calls.length, 2);
  assert.deepEqual(Array.from(back), [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1]);
  assert.equal(await a.undo(), null);
  assert.equal(a.maskOf(), null);
  assert.deepEqual(a.finishedObjects(), []);
});

test("a failed call keeps the error for the page and Retry asks again", async () => {
  const failing = { status: 424, json: { error: { code: "model_error", message: "the model crashed" } } };
  const { a, calls } = annotator([failing, { json: FIRST }]);
  for (const [x, y] of EXTREMES.slice(0, 3)) await a.click(x, y);
  await assert.rejects(a.click(...EXTREMES[3]), (err) => err instanceof ModelError && err.message === "the model crashed");
  assert.equal(a.lastError.code, "model_error");
  assert.equal(a.maskOf(), null);
  await a.retry();
  assert.equal(a.lastError, null);
  assert.equal(calls.length, 2);
  assert.ok(a.maskOf());
});

test("a mask of the wrong size is an error, not a wrong answer", async () => {
  const { a } = annotator([{ json: maskResponse(2, 2, [4]) }]);
  await assert.rejects(extremes(a), /2x2 mask for a 4x3 image/);
});

test("an answer that arrives after an undo is dropped", async () => {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const slow = { segment: async () => (await gate, FIRST) };
  const a = new Annotator({ width: W, height: H, image: { b64: "eA==" }, labels: ["cat"], palette: ["#1f77b4"], client: slow });
  for (const [x, y] of EXTREMES.slice(0, 3)) await a.click(x, y);
  const pending = a.click(...EXTREMES[3]);
  await a.undo();
  release();
  assert.equal(await pending, null);
  assert.equal(a.maskOf(), null);
});

test("several objects with their labels make one answer", async () => {
  const { a } = annotator([{ json: FIRST }, { json: SECOND }]);
  await extremes(a);
  a.newObject("dog");
  await extremes(a);
  assert.equal(a.objects.length, 2);
  let painted;
  const answer = a.answer((rgba) => {
    painted = rgba;
    return "png";
  });
  assert.deepEqual(Object.keys(answer.labelMappings), ["cat", "dog"]);
  const colorAt = (i) => Array.from(painted.subarray(i * 4, i * 4 + 3));
  assert.deepEqual(colorAt(0), [255, 255, 255]);
  assert.deepEqual(colorAt(1), [31, 119, 180]);
  assert.deepEqual(colorAt(3), [255, 127, 14]);
  assert.throws(() => a.setLabel("cow"), /not one of/);
});

test("an empty object is reused when the worker asks for a new one", () => {
  const { a } = annotator([]);
  a.newObject("dog");
  assert.equal(a.objects.length, 1);
  assert.equal(a.current.label, "dog");
});

test("a failure that arrives after an undo is not reported", async () => {
  let fail;
  const gate = new Promise((_, reject) => (fail = reject));
  const client = { segment: async () => gate };
  const a = new Annotator({ width: W, height: H, image: { b64: "eA==" }, labels: ["cat"], palette: ["#1f77b4"], client });
  for (const [x, y] of EXTREMES.slice(0, 3)) await a.click(x, y);
  const pending = a.click(...EXTREMES[3]);
  await a.undo();
  fail(new ModelError("too late"));
  assert.equal(await pending, null);
  assert.equal(a.lastError, null);
});
