/**
 * The crowd-form answer in Ground Truth's semantic-segmentation format.
 *
 * Like <crowd-semantic-segmentation>, the answer carries a colour label map
 * as a base64 PNG (`labeledImage.pngImageData`) plus `labelMappings`
 * (label -> colour), so the consolidation Lambda and the output manifest
 * treat it like the built-in task.  Background is opaque white, the
 * BACKGROUND colour of Ground Truth's internal-color-map.
 */

export const BACKGROUND_COLOR = "#ffffff";

export class AnswerError extends Error {}

export function hexToRgb(hex) {
  const match = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!match) throw new AnswerError(`colour ${JSON.stringify(hex)} is not of the form #rrggbb`);
  const value = parseInt(match[1], 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/** One colour per label, by label order, cycling through the palette. */
export function labelColors(labels, palette) {
  if (!labels.length) throw new AnswerError("the task has no labels: the pre-annotation Lambda must send task.input.labels");
  if (!palette.length) throw new AnswerError("the colour palette is empty");
  if (new Set(labels).size !== labels.length) throw new AnswerError(`labels must be unique, got ${JSON.stringify(labels)}`);
  return Object.fromEntries(labels.map((label, i) => [label, palette[i % palette.length]]));
}

/**
 * Paint objects (later ones on top) into an opaque RGBA label map.
 * @param {Array<{label: string, mask: Uint8Array}>} objects  row-major 0/1 masks
 */
export function paintLabelMap(objects, width, height, colors) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  const [br, bg, bb] = hexToRgb(BACKGROUND_COLOR);
  for (let i = 0; i < width * height; i += 1) rgba.set([br, bg, bb, 255], i * 4);
  for (const { label, mask } of objects) {
    if (!(label in colors)) throw new AnswerError(`label ${JSON.stringify(label)} is not one of this task's labels`);
    if (mask.length !== width * height) {
      throw new AnswerError(`a ${label} mask has ${mask.length} pixels but the image has ${width}x${height}`);
    }
    const [r, g, b] = hexToRgb(colors[label]);
    for (let i = 0; i < mask.length; i += 1) {
      if (mask[i]) rgba.set([r, g, b, 255], i * 4);
    }
  }
  return rgba;
}

/**
 * Build the answer object. `encodePng(rgba, width, height)` returns base64
 * PNG data (the page uses a canvas; tests pass their own encoder).
 */
export function buildAnswer({ objects, labels, palette, width, height, encodePng }) {
  if (!objects.length) {
    throw new AnswerError("nothing is segmented yet: click the object's four extreme points and wait for the mask");
  }
  const colors = labelColors(labels, palette);
  const pngImageData = encodePng(paintLabelMap(objects, width, height, colors), width, height);
  return {
    labeledImage: { pngImageData },
    labelMappings: Object.fromEntries(labels.map((label) => [label, { color: colors[label] }])),
    inputImageProperties: { width, height },
  };
}
