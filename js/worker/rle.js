/**
 * Decode the endpoint's COCO run-length masks in the browser.
 *
 * The endpoint answers with pycocotools' compressed RLE ({size: [h, w],
 * counts: string}); runs alternate background/object starting with
 * background and walk the image column by column (Fortran order), so the
 * decoder transposes into the row-major order canvases use.
 */

export class RleError extends Error {}

/** Parse pycocotools' compressed counts string into run lengths. */
export function parseCounts(text) {
  const counts = [];
  let position = 0;
  while (position < text.length) {
    let value = 0;
    let shift = 0;
    let more = true;
    while (more) {
      if (position >= text.length) throw new RleError("RLE counts string ends in the middle of a number");
      const chunk = text.charCodeAt(position) - 48;
      if (chunk < 0 || chunk > 63) throw new RleError(`RLE counts string has an invalid character at ${position}`);
      value |= (chunk & 0x1f) << (5 * shift);
      more = (chunk & 0x20) !== 0;
      position += 1;
      shift += 1;
      if (!more && chunk & 0x10) value |= -1 << (5 * shift);
    }
    // from the third run on, pycocotools stores the difference to the run two back
    if (counts.length > 2) value += counts[counts.length - 2];
    counts.push(value);
  }
  return counts;
}

/**
 * Decode `{size: [h, w], counts}` (compressed string or plain array) into a
 * row-major Uint8Array of 0/1 with `width`/`height` attached.
 */
export function decodeRle(rle) {
  if (!rle || !Array.isArray(rle.size) || rle.size.length !== 2) {
    throw new RleError("an RLE mask needs size [height, width] and counts");
  }
  const [height, width] = rle.size.map(Number);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0) {
    throw new RleError(`RLE size ${JSON.stringify(rle.size)} is not [height, width] in whole pixels`);
  }
  const counts = typeof rle.counts === "string" ? parseCounts(rle.counts) : rle.counts;
  if (!Array.isArray(counts)) throw new RleError("RLE counts must be a string or a list of run lengths");
  const total = counts.reduce((sum, run) => {
    if (!Number.isInteger(run) || run < 0) throw new RleError(`RLE run length ${run} is not a whole number >= 0`);
    return sum + run;
  }, 0);
  if (total !== height * width) {
    throw new RleError(`RLE runs cover ${total} pixels but the mask is ${width}x${height} = ${width * height}`);
  }
  const mask = new Uint8Array(height * width);
  let index = 0;
  counts.forEach((run, runNumber) => {
    if (runNumber % 2 === 1) {
      for (let i = index; i < index + run; i += 1) {
        const row = i % height;
        const column = (i - row) / height;
        mask[row * width + column] = 1;
      }
    }
    index += run;
  });
  return Object.assign(mask, { width, height });
}
