import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeRle, parseCounts, RleError } from "../worker/rle.js";

// shared with tests/test_shared_cases.py, which checks them against pycocotools
const fixtures = JSON.parse(readFileSync(new URL("../../tests/cases/rle.json", import.meta.url), "utf8"));

test("compressed RLE from pycocotools decodes to the same row-major mask", () => {
  for (const { size, counts, rows } of fixtures.cases) {
    const mask = decodeRle({ size, counts });
    assert.equal(mask.height, size[0]);
    assert.equal(mask.width, size[1]);
    const decodedRows = rows.map((_, r) => Array.from(mask.subarray(r * size[1], (r + 1) * size[1])).join(""));
    assert.deepEqual(decodedRows, rows, `mask ${size}`);
  }
});

test("long runs (multi-character numbers, negative deltas) decode", () => {
  const { size, counts, area, box } = fixtures.large;
  const mask = decodeRle({ size, counts });
  assert.equal(mask.reduce((sum, v) => sum + v, 0), area);
  const [x0, y0, x1, y1] = box;
  const at = (x, y) => mask[y * size[1] + x];
  assert.equal(at(0, 0), 1);
  assert.equal(at(x0, y0), 1);
  assert.equal(at(x1, y1), 1);
  assert.equal(at(x1 + 1, y1), 0);
  assert.equal(at(x0, y1 + 1), 0);
});

test("uncompressed counts are accepted too", () => {
  // 2x2, column-major runs: 1 background, 2 object, 1 background -> (1,0) and (0,1) set
  const mask = decodeRle({ size: [2, 2], counts: [1, 2, 1] });
  assert.deepEqual(Array.from(mask), [0, 1, 1, 0]);
});

test("malformed RLE gets a message that says what is wrong", () => {
  assert.throws(() => decodeRle({ size: [2, 2], counts: [1, 2] }), /cover 3 pixels but the mask is 2x2 = 4/);
  assert.throws(() => decodeRle({ counts: "00" }), /size \[height, width\]/);
  assert.throws(() => parseCounts("0 1"), (err) => err instanceof RleError && /invalid character/.test(err.message));
  assert.throws(() => parseCounts("o"), /ends in the middle/);
});
