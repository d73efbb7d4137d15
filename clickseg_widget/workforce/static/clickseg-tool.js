/* clickseg worker tool: bundled from js/worker by clickseg_widget.workforce.bundle. Do not edit. */
(() => {
"use strict";
// ---- client.js
/**
 * Talks to the segmentation endpoint (through the Lambda proxy) in request
 * schema v1.  The image travels once; later calls name it by the hash the
 * endpoint returned, and a server that forgot it (`unknown_image_hash`) gets
 * the image again.  Transient failures are retried with exponential backoff;
 * anything else becomes a ModelError whose message the page shows as is.
 */

const SCHEMA_VERSION = "1";
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504]);

class ModelError extends Error {
  constructor(message, { code = "model_error", status = 0, retryable = false } = {}) {
    super(message);
    this.name = "ModelError";
    this.code = code;
    this.status = status;
    this.retryable = retryable;
  }
}

const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class ModelClient {
  /**
   * @param {object} options
   * @param {string} options.url  the proxy's POST URL
   * @param {Function} [options.fetch]  injected in tests; the page's fetch otherwise
   * @param {number} [options.retries]  extra attempts after a transient failure
   * @param {number} [options.backoffMs]  first wait; doubles each retry
   * @param {number} [options.timeoutMs]  per attempt
   */
  constructor({ url, fetch = globalThis.fetch, retries = 3, backoffMs = 500, timeoutMs = 30000, sleep = defaultSleep }) {
    if (!url) throw new ModelError("no model URL configured: set the tool's endpoint URL to the proxy's /segment address", { code: "no_url" });
    this.url = url;
    // called as a plain function: the browser's fetch throws "Illegal invocation" when called as a method
    this._fetch = (...args) => fetch(...args);
    this.retries = retries;
    this.backoffMs = backoffMs;
    this.timeoutMs = timeoutMs;
    this._sleep = sleep;
    this._hashes = new Map();
  }

  /**
   * Predict a mask.
   * @param {object} request
   * @param {object} request.image  the full image reference: `{b64}` or `{s3_uri}`
   * @param {Array<{x:number,y:number,kind:string}>} request.clicks
   * @param {object|null} [request.previousMask]  COCO RLE of the mask shown before this click
   */
  async segment({ image, clicks, previousMask = null, options = {} }) {
    const imageKey = image.b64 ?? image.s3_uri;
    const knownHash = this._hashes.get(imageKey);
    const body = (ref) => ({
      version: SCHEMA_VERSION,
      image: ref,
      clicks: clicks.map(({ x, y, kind }) => ({ x, y, kind })),
      previous_mask: previousMask,
      options: { return_png: false, return_probability: false, ...options },
    });
    let response;
    try {
      response = await this._post(body(knownHash ? { hash: knownHash } : image));
    } catch (error) {
      if (!(knownHash && error.code === "unknown_image_hash")) throw error;
      this._hashes.delete(imageKey);
      response = await this._post(body(image));
    }
    if (!response || !response.mask || !Array.isArray(response.mask.size)) {
      throw new ModelError("the model's answer has no mask: check that the endpoint speaks request schema v1", {
        code: "bad_response",
      });
    }
    if (response.image_hash) this._hashes.set(imageKey, response.image_hash);
    return response;
  }

  async _post(body) {
    const payload = JSON.stringify(body);
    let lastError;
    for (let attempt = 0; attempt <= this.retries; attempt += 1) {
      if (attempt > 0) await this._sleep(this.backoffMs * 2 ** (attempt - 1));
      try {
        return await this._attempt(payload);
      } catch (error) {
        lastError = error;
        if (!error.retryable) throw error;
      }
    }
    throw new ModelError(`${lastError.message} (gave up after ${this.retries + 1} attempts; press Retry)`, {
      code: lastError.code,
      status: lastError.status,
      retryable: true,
    });
  }

  async _attempt(payload) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), this.timeoutMs) : null;
    let response;
    try {
      response = await this._fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: payload,
        signal: controller?.signal,
      });
    } catch (error) {
      const timedOut = error?.name === "AbortError";
      throw new ModelError(
        timedOut
          ? `the model did not answer within ${this.timeoutMs / 1000} s`
          : `cannot reach the model at ${this.url} (${error?.message ?? error})`,
        { code: timedOut ? "timeout" : "network_error", retryable: true },
      );
    } finally {
      if (timer) clearTimeout(timer);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (response.ok && data) return data;
    const detail = data?.error;
    const status = response.status;
    if (response.ok) {
      throw new ModelError("the model answered with something that is not JSON", { code: "bad_response", status });
    }
    throw new ModelError(detail?.message ?? `the model call failed with HTTP ${status}`, {
      code: detail?.code ?? `http_${status}`,
      status,
      retryable: RETRYABLE_STATUS.has(status),
    });
  }
}

// ---- clicks.js
/**
 * The ordered clicks of one object, with undo/redo.
 *
 * Mirrors clickseg_widget/clicks.py (ClickSession) so that the worker page
 * refuses exactly what the Python side refuses: the first four clicks are the
 * object's extreme points, corrective clicks come after, and every click lies
 * inside the image.
 */

const CLICK_KINDS = Object.freeze(["extreme", "positive", "negative", "boundary"]);
const CORRECTIVE_KINDS = Object.freeze(["positive", "negative", "boundary"]);
const EXTREME_COUNT = 4;

class ClickError extends Error {}

class ClickState {
  /** @param {number} width @param {number} height  image size in pixels */
  constructor(width, height) {
    if (!(width > 0 && height > 0)) throw new ClickError(`image size ${width}x${height} has no pixels`);
    this.width = width;
    this.height = height;
    this._clicks = [];
    this._redo = [];
  }

  /** Append a click; the kind defaults to extreme for the first four, positive after. */
  add(x, y, kind) {
    const count = this._clicks.length;
    kind = kind ?? (count < EXTREME_COUNT ? "extreme" : "positive");
    const click = { x: Number(x), y: Number(y), kind };
    this._validate(click);
    this._clicks.push(click);
    this._redo = [];
    return { ...click };
  }

  /** Remove the last click; returns it, or null when there is nothing to undo. */
  undo() {
    const click = this._clicks.pop() ?? null;
    if (click) this._redo.push(click);
    return click ? { ...click } : null;
  }

  redo() {
    const click = this._redo.pop() ?? null;
    if (click) this._clicks.push(click);
    return click ? { ...click } : null;
  }

  reset() {
    this._clicks = [];
    this._redo = [];
  }

  get clicks() {
    return this._clicks.map((c) => ({ ...c }));
  }

  get length() {
    return this._clicks.length;
  }

  /** True once the four extreme points are in: a mask can be predicted. */
  get ready() {
    return this._clicks.length >= EXTREME_COUNT;
  }

  get canRedo() {
    return this._redo.length > 0;
  }

  /** What the next click will be when the user does not pick a corrective kind. */
  get nextDefaultKind() {
    return this._clicks.length < EXTREME_COUNT ? "extreme" : "positive";
  }

  _validate(click) {
    if (!CLICK_KINDS.includes(click.kind)) {
      throw new ClickError(`unknown click kind ${JSON.stringify(click.kind)}: use one of ${CLICK_KINDS.join(", ")}`);
    }
    if (!Number.isFinite(click.x) || !Number.isFinite(click.y)) {
      throw new ClickError(`click (${click.x}, ${click.y}) is not a pair of finite pixel coordinates`);
    }
    if (!(click.x >= 0 && click.x < this.width && click.y >= 0 && click.y < this.height)) {
      throw new ClickError(
        `click (${click.x}, ${click.y}) lies outside the ${this.width}x${this.height} image: click on the image`,
      );
    }
    const count = this._clicks.length;
    if (count < EXTREME_COUNT && click.kind !== "extreme") {
      throw new ClickError(
        `a ${click.kind} click came before the four extreme points (${count} of 4 given): ` +
          "click the object's top, left, bottom and right first",
      );
    }
    if (count >= EXTREME_COUNT && click.kind === "extreme") {
      throw new ClickError("this object already has its four extreme points: add positive, negative or boundary clicks");
    }
    if (count === EXTREME_COUNT - 1) {
      const xs = [...this._clicks.map((c) => c.x), click.x];
      const ys = [...this._clicks.map((c) => c.y), click.y];
      if (Math.max(...xs) - Math.min(...xs) < 1 || Math.max(...ys) - Math.min(...ys) < 1) {
        throw new ClickError(
          "the four extreme points span no area (all on one line or one pixel): " +
            "click the object's topmost, leftmost, bottommost and rightmost points",
        );
      }
    }
  }
}

// ---- rle.js
/**
 * Decode the endpoint's COCO run-length masks in the browser.
 *
 * The endpoint answers with pycocotools' compressed RLE ({size: [h, w],
 * counts: string}); runs alternate background/object starting with
 * background and walk the image column by column (Fortran order), so the
 * decoder transposes into the row-major order canvases use.
 */

class RleError extends Error {}

/** Parse pycocotools' compressed counts string into run lengths. */
function parseCounts(text) {
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
function decodeRle(rle) {
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

// ---- answer.js
/**
 * The crowd-form answer in Ground Truth's semantic-segmentation format.
 *
 * Like <crowd-semantic-segmentation>, the answer carries a colour label map
 * as a base64 PNG (`labeledImage.pngImageData`) plus `labelMappings`
 * (label -> colour), so the consolidation Lambda and the output manifest
 * treat it like the built-in task.  Background is opaque white, the
 * BACKGROUND colour of Ground Truth's internal-color-map.
 */

const BACKGROUND_COLOR = "#ffffff";

class AnswerError extends Error {}

function hexToRgb(hex) {
  const match = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!match) throw new AnswerError(`colour ${JSON.stringify(hex)} is not of the form #rrggbb`);
  const value = parseInt(match[1], 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/** One colour per label, by label order, cycling through the palette. */
function labelColors(labels, palette) {
  if (!labels.length) throw new AnswerError("the task has no labels: the pre-annotation Lambda must send task.input.labels");
  if (!palette.length) throw new AnswerError("the colour palette is empty");
  if (new Set(labels).size !== labels.length) throw new AnswerError(`labels must be unique, got ${JSON.stringify(labels)}`);
  return Object.fromEntries(labels.map((label, i) => [label, palette[i % palette.length]]));
}

/**
 * Paint objects (later ones on top) into an opaque RGBA label map.
 * @param {Array<{label: string, mask: Uint8Array}>} objects  row-major 0/1 masks
 */
function paintLabelMap(objects, width, height, colors) {
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
function buildAnswer({ objects, labels, palette, width, height, encodePng }) {
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

// ---- annotator.js
/**
 * The worker's objects and their clicks, and the model calls they trigger.
 *
 * DOM-free so that node's test runner can drive it: the page (clickseg-tool.js)
 * only forwards clicks and draws what this holds.  Every object keeps the
 * mask predicted after each of its clicks, so undo shows the earlier mask at
 * once instead of asking the model again.
 */

class Annotator {
  /**
   * @param {object} options
   * @param {number} options.width  @param {number} options.height  image size
   * @param {object} options.image  `{b64}` or `{s3_uri}`, as sent to the model
   * @param {string[]} options.labels  @param {string[]} options.palette
   * @param {import("./client.js").ModelClient} options.client
   */
  constructor({ width, height, image, labels, palette, client }) {
    Object.assign(this, { width, height, image, labels, palette, client });
    this.objects = [];
    this.lastError = null;
    this.newObject(labels[0]);
  }

  get current() {
    return this.objects[this.objects.length - 1];
  }

  /** Start another object; an empty current object is reused instead. */
  newObject(label = this.current?.label ?? this.labels[0]) {
    this._checkLabel(label);
    if (this.current && this.current.clicks.length === 0) {
      this.current.label = label;
      return this.current;
    }
    const object = { label, clicks: new ClickState(this.width, this.height), masks: [], responses: [], token: 0 };
    this.objects.push(object);
    return object;
  }

  setLabel(label) {
    this._checkLabel(label);
    this.current.label = label;
  }

  /** The mask to show for an object: the one predicted for its current clicks, else the latest before. */
  maskOf(object = this.current) {
    for (let n = object.clicks.length; n >= 0; n -= 1) if (object.masks[n]) return object.masks[n];
    return null;
  }

  /** Add a click and, once the four extreme points are in, predict. */
  async click(x, y, kind) {
    this.current.clicks.add(x, y, kind);
    return this._predict();
  }

  async undo() {
    const object = this.current;
    if (!object.clicks.undo()) return null;
    object.token += 1;
    object.masks.length = Math.min(object.masks.length, object.clicks.length + 1);
    object.responses.length = Math.min(object.responses.length, object.clicks.length + 1);
    this.lastError = null;
    return this.maskOf(object);
  }

  async redo() {
    if (!this.current.clicks.redo()) return null;
    return this._predict();
  }

  /** Ask the model again for the current clicks (after an error). */
  async retry() {
    return this._predict();
  }

  /** Objects that have a mask, in drawing order. */
  finishedObjects() {
    return this.objects
      .map((object) => ({ label: object.label, mask: this.maskOf(object) }))
      .filter((entry) => entry.mask && entry.mask.some((v) => v));
  }

  answer(encodePng) {
    return buildAnswer({
      objects: this.finishedObjects(),
      labels: this.labels,
      palette: this.palette,
      width: this.width,
      height: this.height,
      encodePng,
    });
  }

  async _predict() {
    const object = this.current;
    if (!object.clicks.ready) return null;
    const count = object.clicks.length;
    const token = ++object.token;
    const previous = this._previousResponse(object, count);
    this.lastError = null;
    let response;
    try {
      response = await this.client.segment({
        image: this.image,
        clicks: object.clicks.clicks,
        previousMask: previous?.mask ?? null,
      });
    } catch (error) {
      if (token !== object.token) return null; // superseded: its failure no longer matters
      this.lastError = error;
      throw error;
    }
    if (token !== object.token) return null; // a newer click or an undo superseded this answer
    const mask = decodeRle(response.mask);
    if (mask.width !== this.width || mask.height !== this.height) {
      const error = new ModelError(
        `the model returned a ${mask.width}x${mask.height} mask for a ${this.width}x${this.height} image`,
        { code: "mask_size_mismatch" },
      );
      this.lastError = error;
      throw error;
    }
    object.masks[count] = mask;
    object.responses[count] = response;
    return mask;
  }

  _previousResponse(object, count) {
    for (let n = count - 1; n >= 0; n -= 1) if (object.responses[n]) return object.responses[n];
    return null;
  }

  _checkLabel(label) {
    if (!this.labels.includes(label)) {
      throw new Error(`label ${JSON.stringify(label)} is not one of ${JSON.stringify(this.labels)}`);
    }
  }
}

// ---- clickseg-tool.js
/**
 * The worker page: the image on a canvas, the clicks, the masks and the
 * crowd-form answer.  All state lives in Annotator; this module only turns
 * DOM events into Annotator calls and draws the result.
 *
 * Configuration comes from the root element's data attributes, written by
 * the Liquid template (clickseg_widget/workforce/template.py):
 *   data-image-url   presigned image URL (grant_read_access)
 *   data-s3-uri      the image's s3:// URI (sent instead of bytes when data-send-image="s3_uri")
 *   data-labels      JSON list of labels (task.input.labels | to_json | escape)
 *   data-palette     JSON list of #rrggbb colours, one per label in order
 *   data-endpoint-url  the proxy's POST URL
 *   data-answer-input  id of the hidden <input> inside <crowd-form> that carries the answer
 */

const MASK_ALPHA = 0.45;
const CLICK_COLORS = { extreme: "#ffffff", positive: "#2ca02c", negative: "#d62728", boundary: "#1f77b4" };
const MODES = [
  ["positive", "Add (click)"],
  ["negative", "Remove (shift/right click)"],
  ["boundary", "Boundary (alt+click)"],
];

/** base64 of raw bytes, in chunks so large images do not overflow the call stack. */
function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Encode RGBA pixels as base64 PNG through a canvas (exact for opaque pixels). */
function canvasPng(rgba, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas.toDataURL("image/png").split(",")[1];
}

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function parseJsonAttribute(root, name) {
  const raw = root.dataset[name];
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`the tool's data-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is not valid JSON: ${raw}`);
  }
}

async function mountClicksegTool(root, { fetch = globalThis.fetch } = {}) {
  const labels = parseJsonAttribute(root, "labels");
  const palette = parseJsonAttribute(root, "palette");
  const colors = labelColors(labels, palette);
  const ui = buildUi(root, labels);
  const showError = (message, retry) => {
    ui.errorText.textContent = message;
    ui.retry.hidden = !retry;
    ui.error.hidden = false;
  };
  const clearError = () => {
    ui.error.hidden = true;
    ui.errorText.textContent = "";
  };

  let bitmap;
  let imageRef;
  try {
    const response = await fetch(root.dataset.imageUrl);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    bitmap = await createImageBitmap(new Blob([bytes]));
    imageRef = root.dataset.sendImage === "s3_uri" ? { s3_uri: root.dataset.s3Uri } : { b64: bytesToBase64(bytes) };
  } catch (error) {
    showError(
      `Cannot load the image (${error.message}). Reload the task; if it persists, the requester must allow ` +
        "this page to read the bucket (S3 CORS).",
      false,
    );
    return null;
  }

  const client = new ModelClient({ url: root.dataset.endpointUrl, fetch });
  const annotator = new Annotator({
    width: bitmap.width,
    height: bitmap.height,
    image: imageRef,
    labels,
    palette,
    client,
  });
  ui.canvas.width = bitmap.width;
  ui.canvas.height = bitmap.height;
  const overlays = new WeakMap();
  let mode = "positive";
  let busy = 0;

  const overlayFor = (mask, label) => {
    const cached = overlays.get(mask);
    if (cached && cached.label === label) return cached.canvas;
    const [r, g, b] = hexToRgb(colors[label]);
    const rgba = new Uint8ClampedArray(mask.length * 4);
    for (let i = 0; i < mask.length; i += 1) if (mask[i]) rgba.set([r, g, b, 255], i * 4);
    const canvas = element("canvas");
    canvas.width = annotator.width;
    canvas.height = annotator.height;
    canvas.getContext("2d").putImageData(new ImageData(rgba, annotator.width, annotator.height), 0, 0);
    overlays.set(mask, { label, canvas });
    return canvas;
  };

  const draw = () => {
    const ctx = ui.canvas.getContext("2d");
    ctx.globalAlpha = 1;
    ctx.drawImage(bitmap, 0, 0);
    ctx.globalAlpha = MASK_ALPHA;
    for (const { label, mask } of annotator.finishedObjects()) ctx.drawImage(overlayFor(mask, label), 0, 0);
    ctx.globalAlpha = 1;
    const radius = Math.max(3, Math.round(Math.max(annotator.width, annotator.height) / 150));
    for (const click of annotator.current.clicks.clicks) {
      ctx.beginPath();
      ctx.arc(click.x, click.y, radius, 0, 2 * Math.PI);
      ctx.fillStyle = CLICK_COLORS[click.kind];
      ctx.fill();
      ctx.lineWidth = Math.max(1, radius / 3);
      ctx.strokeStyle = "#000000";
      ctx.stroke();
    }
    const object = annotator.current;
    const count = object.clicks.length;
    ui.status.textContent = busy
      ? "Segmenting…"
      : count < 4
        ? `Object ${annotator.objects.length} (${object.label}): click its top, left, bottom and right edge (${count} of 4).`
        : `Object ${annotator.objects.length} (${object.label}): ${count - 4} corrective click(s). ` +
          "Click to fix the mask, or submit.";
    ui.undo.disabled = count === 0;
    ui.redo.disabled = !object.clicks.canRedo;
    ui.label.value = object.label;
    root.dataset.state = busy ? "busy" : annotator.lastError ? "error" : annotator.maskOf() ? "mask" : "clicking";
  };

  const run = async (action) => {
    clearError();
    busy += 1;
    draw();
    try {
      await action();
    } catch (error) {
      showError(error.message, annotator.current.clicks.ready && error.name === "ModelError");
    } finally {
      busy -= 1;
      draw();
    }
  };

  // the canvas is drawn at image resolution and shown scaled: map back to image pixels
  const imagePoint = (event) => {
    const rect = ui.canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * ui.canvas.width) / rect.width,
      ((event.clientY - rect.top) * ui.canvas.height) / rect.height,
    ];
  };
  ui.canvas.addEventListener("click", (event) => {
    const [x, y] = imagePoint(event);
    let kind = annotator.current.clicks.nextDefaultKind === "extreme" ? "extreme" : mode;
    if (kind !== "extreme" && event.shiftKey) kind = "negative";
    if (kind !== "extreme" && event.altKey) kind = "boundary";
    run(() => annotator.click(x, y, kind));
  });
  ui.canvas.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    if (annotator.current.clicks.ready) run(() => annotator.click(...imagePoint(event), "negative"));
  });
  ui.modes.forEach((button) =>
    button.addEventListener("click", () => {
      mode = button.dataset.mode;
      ui.modes.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    }),
  );
  root.ownerDocument.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "z") return;
    event.preventDefault();
    run(() => (event.shiftKey ? annotator.redo() : annotator.undo()));
  });
  ui.undo.addEventListener("click", () => run(() => annotator.undo()));
  ui.redo.addEventListener("click", () => run(() => annotator.redo()));
  ui.retry.addEventListener("click", () => run(() => annotator.retry()));
  ui.newObject.addEventListener("click", () => run(async () => annotator.newObject(ui.label.value)));
  ui.label.addEventListener("change", () => run(async () => annotator.setLabel(ui.label.value)));

  const form = root.closest("crowd-form");
  const answerInput = document.getElementById(root.dataset.answerInput);
  if (form && answerInput) {
    form.addEventListener("submit", (event) => {
      try {
        answerInput.value = JSON.stringify(annotator.answer(canvasPng));
      } catch (error) {
        event.preventDefault();
        showError(error.message, false);
      }
    });
  } else {
    showError("The task page lacks its <crowd-form> or answer field: the template is broken.", false);
  }
  draw();
  return annotator;
}

/** Start a tool on every `[data-clickseg-tool]` element; a failure is shown in place, never swallowed. */
function mountAll(doc = document) {
  const start = () =>
    doc.querySelectorAll("[data-clickseg-tool]").forEach((root) =>
      mountClicksegTool(root).catch((error) => {
        root.textContent = `The labeling tool failed to start: ${error.message}`;
        root.dataset.state = "failed";
      }),
    );
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
}

function buildUi(root, labels) {
  const label = element("select", { "aria-label": "Label" }, labels.map((name) => element("option", { value: name, text: name })));
  const modes = MODES.map(([mode, text]) =>
    element("button", { type: "button", "data-mode": mode, "aria-pressed": String(mode === "positive"), text }),
  );
  const undo = element("button", { type: "button", title: "Ctrl+Z", text: "Undo" });
  const redo = element("button", { type: "button", title: "Ctrl+Shift+Z", text: "Redo" });
  const newObject = element("button", { type: "button", text: "New object" });
  const status = element("div", { class: "clickseg-status", "aria-live": "polite" });
  const errorText = element("span", { class: "clickseg-error-text" });
  const retry = element("button", { type: "button", class: "clickseg-retry", text: "Retry" });
  const error = element("div", { class: "clickseg-error", role: "alert" }, [errorText, " ", retry]);
  error.hidden = true;
  const canvas = element("canvas", { class: "clickseg-canvas", style: "max-width:100%;cursor:crosshair;" });
  const toolbar = element("div", { class: "clickseg-toolbar" }, [
    element("label", {}, ["Label ", label]),
    " ",
    ...modes,
    " ",
    undo,
    redo,
    newObject,
  ]);
  root.replaceChildren(toolbar, status, error, canvas);
  return { label, modes, undo, redo, newObject, status, error, errorText, retry, canvas };
}

mountAll(document);
})();
