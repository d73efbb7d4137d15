/**
 * The worker's objects and their clicks, and the model calls they trigger.
 *
 * DOM-free so that node's test runner can drive it: the page (clickseg-tool.js)
 * only forwards clicks and draws what this holds.  Every object keeps the
 * mask predicted after each of its clicks, so undo shows the earlier mask at
 * once instead of asking the model again.
 */
import { ClickState } from "./clicks.js";
import { decodeRle } from "./rle.js";
import { ModelError } from "./client.js";
import { buildAnswer } from "./answer.js";

export class Annotator {
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
