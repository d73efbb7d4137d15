/**
 * The ordered clicks of one object, with undo/redo.
 *
 * Mirrors clickseg_widget/clicks.py (ClickSession, validate_next, split_prompt)
 * so that the worker page refuses exactly what the Python side refuses: an
 * object starts with its four extreme points or a box (two opposite corners),
 * corrective clicks come after, and every click lies inside the image.  Both
 * sides run the cases in tests/cases/clicks.json.
 */

export const CLICK_KINDS = Object.freeze(["extreme", "box", "positive", "negative", "boundary"]);
export const CORRECTIVE_KINDS = Object.freeze(["positive", "negative", "boundary"]);
const PROMPT_SIZE = Object.freeze({ extreme: 4, box: 2 });

export class ClickError extends Error {}

/** "extreme" or "box": how the first click starts the object (null for no clicks). */
export function promptKind(clicks) {
  if (clicks.length === 0) return null;
  return clicks[0].kind === "box" ? "box" : "extreme";
}

/** [prompt clicks, corrective clicks]: the first 4 extremes or 2 box corners, then the rest. */
export function splitPrompt(clicks) {
  const kind = promptKind(clicks);
  const size = kind ? PROMPT_SIZE[kind] : 0;
  return [clicks.slice(0, size), clicks.slice(size)];
}

export class ClickState {
  /** @param {number} width @param {number} height  image size in pixels */
  constructor(width, height) {
    if (!(width > 0 && height > 0)) throw new ClickError(`image size ${width}x${height} has no pixels`);
    this.width = width;
    this.height = height;
    this._clicks = [];
    this._redo = [];
  }

  /** Append a click; the kind defaults to the prompt's kind until it is complete, positive after. */
  add(x, y, kind) {
    kind = kind ?? this.nextDefaultKind;
    const click = { x: Number(x), y: Number(y), kind };
    this._validate(click);
    this._clicks.push(click);
    this._redo = [];
    return { ...click };
  }

  /** Start the object with a box (two opposite corners, any order) instead of extreme points. */
  addBox(x0, y0, x1, y1) {
    if (this._clicks.length > 0) {
      throw new ClickError("a box starts an object: reset the object (or undo its clicks) before drawing a box");
    }
    const first = this.add(x0, y0, "box");
    try {
      return [first, this.add(x1, y1, "box")];
    } catch (error) {
      this._clicks.pop();
      throw error;
    }
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

  /** "extreme" or "box" once the first click is in, else null. */
  get promptKind() {
    return promptKind(this._clicks);
  }

  /** True once the prompt is complete (four extreme points or two box corners): a mask can be predicted. */
  get ready() {
    const kind = this.promptKind;
    return kind !== null && this._clicks.length >= PROMPT_SIZE[kind];
  }

  get canRedo() {
    return this._redo.length > 0;
  }

  /** What the next click will be when the user does not pick a corrective kind. */
  get nextDefaultKind() {
    if (this.ready) return "positive";
    return this.promptKind ?? "extreme";
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
    const kind = this.promptKind ?? (click.kind === "box" ? "box" : "extreme");
    const size = PROMPT_SIZE[kind];
    const what = kind === "extreme" ? "four extreme points" : "two box corners";
    if (count >= size) {
      if (click.kind in PROMPT_SIZE) {
        throw new ClickError(`this object already has its ${what}: add positive, negative or boundary clicks`);
      }
      return;
    }
    if (click.kind !== kind) {
      throw new ClickError(
        `a ${click.kind} click came before the ${what} (${count} of ${size} given): ` +
          "click the object's top, left, bottom and right first, or start it with a box",
      );
    }
    if (count === size - 1) {
      const xs = [...this._clicks.map((c) => c.x), click.x];
      const ys = [...this._clicks.map((c) => c.y), click.y];
      if (Math.max(...xs) - Math.min(...xs) < 1 || Math.max(...ys) - Math.min(...ys) < 1) {
        throw new ClickError(
          kind === "extreme"
            ? "the four extreme points span no area (all on one line or one pixel): " +
                "click the object's topmost, leftmost, bottommost and rightmost points"
            : "the box spans no area (its corners share a row or column): drag a box around the object",
        );
      }
    }
  }
}
