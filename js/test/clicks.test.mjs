import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ClickState, ClickError, splitPrompt } from "../worker/clicks.js";

// shared with tests/test_shared_cases.py, which runs them through clickseg_widget.clicks.ClickSession
const shared = JSON.parse(readFileSync(new URL("../../tests/cases/clicks.json", import.meta.url), "utf8"));

function runStep(state, step) {
  if (step.add) return state.add(...step.add);
  if (step.add_box) return state.addBox(...step.add_box);
  if (step.undo) return state.undo();
  if (step.redo) return state.redo();
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}

for (const testCase of shared.cases) {
  test(`shared case: ${testCase.name}`, () => {
    const state = new ClickState(...testCase.size);
    for (const step of testCase.steps) {
      if (step.refused) {
        assert.throws(() => runStep(state, step), (err) => err instanceof ClickError && err.message.includes(step.refused));
      } else {
        runStep(state, step);
      }
    }
    assert.deepEqual(state.clicks.map((c) => c.kind), testCase.kinds);
    assert.equal(state.ready, testCase.ready);
    assert.equal(splitPrompt(state.clicks)[0].length, testCase.prompt);
  });
}

const EXTREMES = [[50, 10], [10, 40], [55, 90], [95, 45]];

function withExtremes() {
  const state = new ClickState(100, 100);
  for (const [x, y] of EXTREMES) state.add(x, y);
  return state;
}

test("the first four clicks are extreme points, then corrective clicks default to positive", () => {
  const state = new ClickState(100, 100);
  assert.equal(state.nextDefaultKind, "extreme");
  for (const [x, y] of EXTREMES) assert.equal(state.add(x, y).kind, "extreme");
  assert.equal(state.ready, true);
  assert.equal(state.add(50, 50).kind, "positive");
  assert.equal(state.add(60, 50, "negative").kind, "negative");
  assert.deepEqual(state.clicks.map((c) => c.kind), ["extreme", "extreme", "extreme", "extreme", "positive", "negative"]);
});

test("a corrective click before the four extreme points is refused with the fix", () => {
  const state = new ClickState(100, 100);
  state.add(1, 1);
  assert.throws(() => state.add(5, 5, "positive"), (err) => err instanceof ClickError && /1 of 4 given/.test(err.message));
  assert.equal(state.length, 1);
});

test("a fifth extreme point, an unknown kind and a click outside the image are refused", () => {
  const state = withExtremes();
  assert.throws(() => state.add(5, 5, "extreme"), /already has its four extreme points/);
  assert.throws(() => state.add(5, 5, "erase"), /unknown click kind "erase"/);
  assert.throws(() => state.add(100, 5), /outside the 100x100 image/);
  assert.throws(() => state.add(-0.5, 5), /outside/);
  assert.throws(() => state.add(Number.NaN, 5), /finite/);
  assert.equal(state.length, 4);
});

test("four extreme points on one line are refused", () => {
  const state = new ClickState(100, 100);
  state.add(10, 50);
  state.add(20, 50);
  state.add(30, 50);
  assert.throws(() => state.add(40, 50), /span no area/);
});

test("undo and redo walk the history; a new click clears redo", () => {
  const state = withExtremes();
  state.add(50, 50);
  assert.deepEqual(state.undo(), { x: 50, y: 50, kind: "positive" });
  assert.equal(state.canRedo, true);
  assert.deepEqual(state.redo(), { x: 50, y: 50, kind: "positive" });
  assert.equal(state.length, 5);
  state.undo();
  state.add(40, 40, "boundary");
  assert.equal(state.canRedo, false);
  assert.equal(state.redo(), null);
  state.reset();
  assert.equal(state.length, 0);
  assert.equal(state.undo(), null);
});

test("clicks returns copies, so callers cannot change the history", () => {
  const state = withExtremes();
  state.clicks[0].x = 999;
  assert.equal(state.clicks[0].x, 50);
});
