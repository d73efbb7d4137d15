/**
 * Talks to the segmentation endpoint (through the Lambda proxy) in request
 * schema v1.  The image travels once; later calls name it by the hash the
 * endpoint returned, and a server that forgot it (`unknown_image_hash`) gets
 * the image again.  Transient failures are retried with exponential backoff;
 * anything else becomes a ModelError whose message the page shows as is.
 */

export const SCHEMA_VERSION = "1";
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504]);

export class ModelError extends Error {
  constructor(message, { code = "model_error", status = 0, retryable = false } = {}) {
    super(message);
    this.name = "ModelError";
    this.code = code;
    this.status = status;
    this.retryable = retryable;
  }
}

const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ModelClient {
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
