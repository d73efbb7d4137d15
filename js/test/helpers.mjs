/** A scripted stand-in for fetch: each call pops the next planned reply and records the request. */
export function scriptedFetch(replies) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, body: JSON.parse(init.body) });
    const reply = replies.shift();
    if (!reply) throw new Error("no reply planned for this call");
    if (reply instanceof Error) throw reply;
    const { status = 200, json } = reply;
    const text = typeof json === "string" ? json : JSON.stringify(json);
    return { ok: status >= 200 && status < 300, status, text: async () => text };
  };
  return { fetch, calls };
}

/** A schema-v1 answer whose mask covers the given column-major runs of a w x h image. */
export function maskResponse(width, height, runs, hash = "h1") {
  return {
    version: "1",
    model_version: "test",
    backend: "test",
    image_hash: hash,
    width,
    height,
    mask: { size: [height, width], counts: runs },
    score: 0.9,
    timings: { prepare_ms: 1, predict_ms: 1, total_ms: 2 },
  };
}
