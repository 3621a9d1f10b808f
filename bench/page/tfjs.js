// TensorFlow.js side of the benchmark: the same `seed` and `strong` networks, the same pixels
// (from a .mcdata file written by `medclassify export`), batch size, Adam 1e-3, categorical
// cross-entropy; one trainOnBatch per step (its loss is read back, as MedClassify reads its
// loss every batch).
/* global tf */

async function loadData(url, count) {
  const raw = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const length = new DataView(raw.buffer).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(raw.subarray(12, 12 + length)));
  const size = header.image_size;
  const pixels = raw.subarray(12 + length);
  const train = [];
  header.samples.forEach((s, i) => { if (s.split === 'train') train.push(i); });
  // A fixed, class-mixed selection: every k-th training image.
  const step = Math.max(1, Math.floor(train.length / count));
  const picked = train.filter((_, i) => i % step === 0).slice(0, count);
  const x = new Float32Array(picked.length * size * size);
  const y = new Int32Array(picked.length);
  picked.forEach((index, row) => {
    x.set(pixels.subarray(index * size * size, (index + 1) * size * size), row * size * size);
    y[row] = header.samples[index].label;
  });
  return { x, y, size, classes: header.classes.length, n: picked.length };
}

function seedModel(size, classes) {
  return tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [size, size, 1], filters: 32, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dropout({ rate: 0.5 }),
    tf.layers.dense({ units: classes, activation: 'softmax' }),
  ] });
}

function strongModel(size, classes, width = 16) {
  const layers = [];
  [width, 2 * width, 4 * width, 4 * width].forEach((filters, i) => {
    layers.push(tf.layers.conv2d({ ...(i === 0 ? { inputShape: [size, size, 1] } : {}), filters, kernelSize: 3, padding: 'same', useBias: false }));
    layers.push(tf.layers.batchNormalization());
    layers.push(tf.layers.reLU());
    if (i < 3) layers.push(tf.layers.maxPooling2d({ poolSize: 2 }));
  });
  layers.push(tf.layers.globalAveragePooling2d({}));
  layers.push(tf.layers.dropout({ rate: 0.2 }));
  layers.push(tf.layers.dense({ units: classes, activation: 'softmax' }));
  return tf.sequential({ layers });
}

// Resolves to { backend, imagesPerSecond, msPerStep } or { backend, error }.
window.runBench = async ({ backend, preset, batch, warmup, steps, dataUrl, images }) => {
  try {
    if (backend === 'wasm') tf.wasm.setWasmPaths('../node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    const ok = await tf.setBackend(backend);
    if (!ok) return { backend, error: `tf.setBackend('${backend}') returned false` };
    await tf.ready();
    const data = await loadData(dataUrl, images);
    const model = (preset === 'seed' ? seedModel : strongModel)(data.size, data.classes);
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const batches = Math.floor(data.n / batch);
    const batchAt = (k) => tf.tidy(() => {
      const i = k % batches;
      const x = tf.tensor4d(data.x.subarray(i * batch * data.size * data.size, (i + 1) * batch * data.size * data.size), [batch, data.size, data.size, 1]).div(255);
      const y = tf.oneHot(tf.tensor1d(data.y.subarray(i * batch, (i + 1) * batch), 'int32'), data.classes);
      return [x, y];
    });
    let start = 0;
    for (let step = 0; step < warmup + steps; step++) {
      if (step === warmup) start = performance.now();
      const [x, y] = batchAt(step);
      await model.trainOnBatch(x, y);
      tf.dispose([x, y]);
    }
    const seconds = (performance.now() - start) / 1000;
    model.dispose();
    return { backend, imagesPerSecond: (steps * batch) / seconds, msPerStep: (seconds * 1000) / steps };
  } catch (error) {
    return { backend, error: String(error && error.message || error).slice(0, 300) };
  }
};
