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
import { ModelClient } from "./client.js";
import { Annotator } from "./annotator.js";
import { hexToRgb, labelColors } from "./answer.js";

const MASK_ALPHA = 0.45;
const CLICK_COLORS = { extreme: "#ffffff", positive: "#2ca02c", negative: "#d62728", boundary: "#1f77b4" };
const MODES = [
  ["positive", "Add (click)"],
  ["negative", "Remove (shift/right click)"],
  ["boundary", "Boundary (alt+click)"],
];

/** base64 of raw bytes, in chunks so large images do not overflow the call stack. */
export function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Encode RGBA pixels as base64 PNG through a canvas (exact for opaque pixels). */
export function canvasPng(rgba, width, height) {
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

export async function mountClicksegTool(root, { fetch = globalThis.fetch } = {}) {
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
export function mountAll(doc = document) {
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
