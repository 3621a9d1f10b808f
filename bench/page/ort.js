// ONNX Runtime Web side of the inference benchmark (bench/inference.mjs): MedClassify's own
// ONNX export of a network, run by ONNX Runtime Web in the same browser on batches of the same
// size as MedClassify's. Its multi-threaded wasm needs a cross-origin-isolated page: the bench
// server sends the harness pages COOP and COEP (bench/harness.mjs).
/* global ort */

/** Deterministic pixels in 0..255 (speed does not depend on them; the same every run). */
function pixels(count) {
  const values = new Float32Array(count);
  let state = 12345;
  for (let i = 0; i < count; i += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    values[i] = (state >>> 16) % 256;
  }
  return values;
}

// Resolves to { provider, threads, isolated, imagesPerSecond, msPerBatch, logits } or
// { provider, threads, error }.
window.runOrt = async ({ modelUrl, provider = 'wasm', threads = 1, batch, warmup = 1, runs = 5 }) => {
  try {
    // Absolute: ONNX Runtime resolves a relative path against its own script, not this page.
    ort.env.wasm.wasmPaths = new URL('../node_modules/onnxruntime-web/dist/', location.href).href;
    ort.env.wasm.numThreads = threads;
    const session = await ort.InferenceSession.create(modelUrl, { executionProviders: [provider], graphOptimizationLevel: 'all' });
    const input = session.inputNames[0];
    const meta = session.inputMetadata?.[0];
    // [batch, channels, side, side]: the export's own input shape, its batch dimension free.
    const dims = meta?.shape ?? [];
    const [channels, side] = [Number(dims[1]), Number(dims[2])];
    if (!(channels > 0 && side > 0)) return { provider, threads, error: `unexpected input shape ${JSON.stringify(dims)}` };
    const tensor = new ort.Tensor('float32', pixels(batch * channels * side * side), [batch, channels, side, side]);
    let output;
    for (let i = 0; i < warmup; i += 1) output = await session.run({ [input]: tensor });
    const start = performance.now();
    for (let i = 0; i < runs; i += 1) output = await session.run({ [input]: tensor });
    const ms = performance.now() - start;
    const logits = Array.from(output[session.outputNames[0]].data.slice(0, 6));
    await session.release();
    return {
      provider, threads, isolated: globalThis.crossOriginIsolated === true, inputSide: side, batch, runs,
      imagesPerSecond: (batch * runs) / (ms / 1000), msPerBatch: ms / runs, logits,
    };
  } catch (error) {
    return { provider, threads, error: String(error?.message ?? error) };
  }
};
