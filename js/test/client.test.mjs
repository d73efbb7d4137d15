import test from "node:test";
import assert from "node:assert/strict";
import { ModelClient, ModelError } from "../worker/client.js";
import { scriptedFetch, maskResponse } from "./helpers.mjs";

const CLICKS = [{ x: 1, y: 1, kind: "extreme" }];
const IMAGE = { b64: "aW1hZ2U=" };
const ok = (hash = "abc") => ({ json: maskResponse(2, 2, [4], hash) });

function client(replies, options = {}) {
  const { fetch, calls } = scriptedFetch(replies);
  const sleeps = [];
  const c = new ModelClient({ url: "http://proxy/segment", fetch, sleep: async (ms) => sleeps.push(ms), ...options });
  return { c, calls, sleeps };
}

test("the image is sent once, then named by the hash the endpoint returned", async () => {
  const { c, calls } = client([ok("abc"), ok("abc")]);
  await c.segment({ image: IMAGE, clicks: CLICKS });
  await c.segment({ image: IMAGE, clicks: CLICKS, previousMask: { size: [2, 2], counts: [4] } });
  assert.deepEqual(calls[0].body.image, IMAGE);
  assert.deepEqual(calls[1].body.image, { hash: "abc" });
  assert.equal(calls[0].body.version, "1");
  assert.equal(calls[0].body.previous_mask, null);
  assert.deepEqual(calls[1].body.previous_mask, { size: [2, 2], counts: [4] });
  assert.deepEqual(calls[0].body.clicks, CLICKS);
  assert.equal(calls[0].url, "http://proxy/segment");
});

test("an endpoint that forgot the image gets it again", async () => {
  const forgot = { status: 404, json: { error: { code: "unknown_image_hash", message: "send the image again" } } };
  const { c, calls } = client([ok("abc"), forgot, ok("abc")]);
  await c.segment({ image: IMAGE, clicks: CLICKS });
  const response = await c.segment({ image: IMAGE, clicks: CLICKS });
  assert.equal(response.image_hash, "abc");
  assert.deepEqual(calls.map((call) => Object.keys(call.body.image)[0]), ["b64", "hash", "b64"]);
});

test("throttling and unreachable endpoints are retried with doubling waits", async () => {
  const throttled = { status: 429, json: { error: { code: "throttled", message: "slow down" } } };
  const { c, calls, sleeps } = client([throttled, new TypeError("Failed to fetch"), ok()]);
  const response = await c.segment({ image: IMAGE, clicks: CLICKS });
  assert.equal(response.image_hash, "abc");
  assert.equal(calls.length, 3);
  assert.deepEqual(sleeps, [500, 1000]);
});

test("after the last retry the error says what failed and that Retry is possible", async () => {
  const down = { status: 503, json: { error: { code: "endpoint_unavailable", message: "the endpoint is not ready" } } };
  const { c, calls } = client([down, down, down], { retries: 2 });
  await assert.rejects(c.segment({ image: IMAGE, clicks: CLICKS }), (err) => {
    assert.ok(err instanceof ModelError);
    assert.equal(err.code, "endpoint_unavailable");
    assert.match(err.message, /the endpoint is not ready \(gave up after 3 attempts; press Retry\)/);
    return true;
  });
  assert.equal(calls.length, 3);
});

test("a request the model rejects is not retried and keeps the server's message", async () => {
  const bad = { status: 400, json: { error: { code: "click_outside_image", message: "click (900, 5) lies outside" } } };
  const { c, calls } = client([bad]);
  await assert.rejects(c.segment({ image: IMAGE, clicks: CLICKS }), { code: "click_outside_image", status: 400, message: "click (900, 5) lies outside" });
  assert.equal(calls.length, 1);
});

test("answers without a mask or without JSON are errors, not silent successes", async () => {
  const { c } = client([{ json: { version: "1" } }, { json: "<html>gateway</html>" }, { status: 502, json: "<html>bad gateway</html>" }], { retries: 0 });
  await assert.rejects(c.segment({ image: IMAGE, clicks: CLICKS }), { code: "bad_response" });
  await assert.rejects(c.segment({ image: IMAGE, clicks: CLICKS }), /not JSON/);
  await assert.rejects(c.segment({ image: IMAGE, clicks: CLICKS }), { code: "http_502", message: /HTTP 502/ });
});

test("a hung endpoint times out and is retried", async () => {
  const hang = (url, init) =>
    new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }))));
  const c = new ModelClient({ url: "http://proxy", fetch: hang, retries: 1, timeoutMs: 20, sleep: async () => {} });
  await assert.rejects(c.segment({ image: IMAGE, clicks: CLICKS }), { code: "timeout", message: /within 0.02 s.*2 attempts/ });
});

test("a client without URL explains the setting", () => {
  assert.throws(() => new ModelClient({ url: "" }), /no model URL configured/);
});

test("an image named by S3 URI is sent as such once, then by hash", async () => {
  const { c, calls } = client([ok("s3hash"), ok("s3hash")]);
  const image = { s3_uri: "s3://bucket/images/a.jpg" };
  await c.segment({ image, clicks: CLICKS });
  await c.segment({ image, clicks: CLICKS });
  assert.deepEqual(calls.map((call) => call.body.image), [image, { hash: "s3hash" }]);
});
