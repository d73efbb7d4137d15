/**
 * The ordered clicks of one object, with undo/redo.
 *
 * Mirrors clickseg_widget/clicks.py (ClickSession) so that the worker page
 * refuses exactly what the Python side refuses: the first four clicks are the
 * object's extreme points, corrective clicks come after, and every click lies
 * inside the image.
 */

export const CLICK_KINDS = Object.freeze(["extreme", "positive", "negative", "boundary"]);
export const CORRECTIVE_KINDS = Object.freeze(["positive", "negative", "boundary"]);
const EXTREME_COUNT = 4;

export class ClickError extends Error {}

export class ClickState {
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
