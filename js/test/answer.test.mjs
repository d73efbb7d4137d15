import test from "node:test";
import assert from "node:assert/strict";
import { buildAnswer, hexToRgb, labelColors, paintLabelMap } from "../worker/answer.js";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c"];

test("labels get palette colours in order, cycling past the palette", () => {
  assert.deepEqual(labelColors(["a", "b", "c", "d"], PALETTE), { a: "#1f77b4", b: "#ff7f0e", c: "#2ca02c", d: "#1f77b4" });
  assert.throws(() => labelColors([], PALETTE), /no labels/);
  assert.throws(() => labelColors(["a", "a"], PALETTE), /unique/);
  assert.deepEqual(hexToRgb("#2CA02C"), [44, 160, 44]);
  assert.throws(() => hexToRgb("red"), /#rrggbb/);
});

test("the label map is opaque white with each object in its label colour, later objects on top", () => {
  const colors = labelColors(["cat", "dog"], PALETTE);
  const rgba = paintLabelMap(
    [
      { label: "cat", mask: Uint8Array.from([1, 1, 0, 0]) },
      { label: "dog", mask: Uint8Array.from([0, 1, 1, 0]) },
    ],
    2,
    2,
    colors,
  );
  const pixel = (i) => Array.from(rgba.subarray(i * 4, i * 4 + 4));
  assert.deepEqual(pixel(0), [31, 119, 180, 255]);
  assert.deepEqual(pixel(1), [255, 127, 14, 255]);
  assert.deepEqual(pixel(2), [255, 127, 14, 255]);
  assert.deepEqual(pixel(3), [255, 255, 255, 255]);
  assert.throws(() => paintLabelMap([{ label: "cow", mask: new Uint8Array(4) }], 2, 2, colors), /not one of this task's labels/);
  assert.throws(() => paintLabelMap([{ label: "cat", mask: new Uint8Array(3) }], 2, 2, colors), /3 pixels but the image has 2x2/);
});

test("the answer has Ground Truth's semantic-segmentation shape", () => {
  let encoded;
  const answer = buildAnswer({
    objects: [{ label: "dog", mask: Uint8Array.from([0, 1, 0, 0, 0, 0]) }],
    labels: ["cat", "dog"],
    palette: PALETTE,
    width: 3,
    height: 2,
    encodePng: (rgba, w, h) => {
      encoded = { rgba, w, h };
      return "UE5H";
    },
  });
  assert.deepEqual(answer, {
    labeledImage: { pngImageData: "UE5H" },
    labelMappings: { cat: { color: "#1f77b4" }, dog: { color: "#ff7f0e" } },
    inputImageProperties: { width: 3, height: 2 },
  });
  assert.equal(encoded.w, 3);
  assert.equal(encoded.h, 2);
  assert.deepEqual(Array.from(encoded.rgba.subarray(4, 8)), [255, 127, 14, 255]);
});

test("an answer without any segmented object is refused with what to do", () => {
  assert.throws(
    () => buildAnswer({ objects: [], labels: ["cat"], palette: PALETTE, width: 1, height: 1, encodePng: () => "" }),
    /click the object's four extreme points/,
  );
});
