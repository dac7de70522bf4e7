import * as tf from '@tensorflow/tfjs-core';
import { HOST_BACKENDS } from './host-backend.ts';

/*
 * The few tensor ops every model family is built from, written so that both the forward pass and its
 * gradient stay on fast paths: on wasm every matrix product (transposed operands and batches included) is
 * Regimen's own kernel (wasm-gemm.ts, which entry points install), embedding gradients avoid `gather`'s
 * missing wasm gradient, per-channel gradients are summed over a view of the heap, and masks are
 * constants rather than `bandPart`.
 */

type Save = (tensors: tf.Tensor[]) => void;

const constants = new Map<string, tf.Scalar>();

/**
 * A scalar kept for the life of the process, one per backend and value: the constants of formulas (norm
 * epsilons, GELU's coefficients, attention scales) reach a GPU once rather than as an upload per use.
 */
export function constant(value: number, dtype: 'float32' | 'int32' = 'float32'): tf.Scalar {
  const key = `${tf.getBackend()}:${dtype}:${value}`;
  let c = constants.get(key);
  if (!c || c.isDisposed) {
    c = tf.keep(tf.scalar(value, dtype));
    constants.set(key, c);
  }
  return c;
}

/** How many constants {@link constant} keeps (for tests that count live tensors). */
export function keptConstants(): number {
  return [...constants.values()].filter((c) => !c.isDisposed).length;
}

/**
 * Saves tensors for a custom gradient and returns how to get them back. `save` keeps a clone of each, and
 * a clone is a full copy on wasm; variables outlive the backward pass anyway, so they are captured as
 * they are instead.
 */
function saveFor(save: Save, tensors: tf.Tensor[]): (saved: tf.Tensor[]) => tf.Tensor[] {
  const isVar = tensors.map((t) => t instanceof tf.Variable);
  save(tensors.filter((_, i) => !isVar[i]));
  return (saved) => {
    let k = 0;
    return tensors.map((t, i) => (isVar[i] ? t : (saved[k++] as tf.Tensor)));
  };
}

/**
 * A float32 tensor's values as a view of the backend's own memory, where the backend exposes it (wasm),
 * so reading them allocates nothing; undefined elsewhere. Valid only until the next tfjs call, which may
 * grow (and so move) that memory.
 */
export function heapView(t: tf.Tensor): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  return wasmHeap(t) as Float32Array | undefined;
}

/** {@link heapView} for int32 tensors (token ids, indices). */
export function heapViewInt(t: tf.Tensor): Int32Array | undefined {
  if (t.dtype !== 'int32') return undefined;
  return wasmHeap(t) as Int32Array | undefined;
}

function wasmHeap(t: tf.Tensor): Float32Array | Int32Array | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array | Int32Array };
  return typeof b.typedArrayFromHeap === 'function' ? b.typedArrayFromHeap(t) : undefined;
}

/**
 * Makes wasm's Identity kernel (behind tf.clone, and so behind every tensor a gradient saves) share its
 * input's memory, as the cpu and WebGL backends' Identity does, instead of copying it: tensors are
 * immutable, and a training step saves ~30 MB of activations. A no-op where wasm is not registered or
 * this already ran; entry points that load wasm call it once, through `installWasmFastPaths` (wasm-gemm.ts).
 */
export function shareIdentityOnWasm(): void {
  const kernel = tf.getKernel('Identity', 'wasm');
  if (!kernel || (kernel.kernelFunc as { shares?: boolean }).shares) return;
  const copy = kernel.kernelFunc;
  const share = ((args: { inputs: { x: tf.TensorInfo }; backend: unknown }) => {
    const { x } = args.inputs;
    const backend = args.backend as { incRef?: (dataId: object) => void };
    if (x.dtype === 'string' || typeof backend.incRef !== 'function')
      return copy(args as Parameters<typeof copy>[0]);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as tf.KernelFunc & { shares?: boolean };
  share.shares = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ ...kernel, kernelFunc: share });
}

/**
 * A new float32 tensor that the wasm backend allocates in its heap, filled by `fill` through a view of that
 * memory (the views `fill` takes of its inputs must be made inside it: allocating may move the heap). Like
 * a kernel's output, it is computed where the backend keeps tensors, not uploaded from the host.
 */
function wasmTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  const backend = tf.backend();
  const out = HOST_BACKENDS.wasm.output(backend, shape);
  fill(out.values());
  return tf.engine().makeTensorFromTensorInfo(out.info);
}

/**
 * tf.reshape for tensors on the gradient tape: tfjs's own Reshape gradient keeps its whole input (a full
 * copy on wasm, 16 MB for a batch's logits) only to read its shape; this one remembers just the shape.
 */
export function reshape<R extends tf.Rank>(x: tf.Tensor, shape: number[]): tf.Tensor<R> {
  const from = x.shape.slice();
  const f = tf.customGrad((...args) => {
    const [xs] = args as [tf.Tensor];
    return { value: tf.reshape(xs, shape), gradFunc: (dy) => tf.reshape(dy, from) };
  });
  return f(x) as tf.Tensor<R>;
}

/** y = x·w with x [N, in] and w [in, out]; dx = dy·wᵀ and dw = xᵀ·dy, each one product with a transposed operand. */
export const linear2d = tf.customGrad((...args) => {
  const [x2, w2, save] = args as [tf.Tensor2D, tf.Tensor2D, Save];
  const restore = saveFor(save, [x2, w2]);
  return {
    value: tf.matMul(x2, w2), // [N, out]
    gradFunc: (dy, saved) => {
      const [xs, ws] = restore(saved) as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, ws, false, true), tf.matMul(xs, g, true, false)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * y = x·wᵀ with x [N, in] and w [out, in] (a tied output head reading the embedding table): dx = dy·w and
 * dw = dyᵀ·x.
 */
export const linearTransposed = tf.customGrad((...args) => {
  const [x2, w2, save] = args as [tf.Tensor2D, tf.Tensor2D, Save];
  const restore = saveFor(save, [x2, w2]);
  return {
    value: tf.matMul(x2, w2, false, true), // [N, out]
    gradFunc: (dy, saved) => {
      const [xs, ws] = restore(saved) as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, ws), tf.matMul(g, xs, true, false)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * Logits of a head tied to the embedding table [V, D]: x·tableᵀ, or, where a LoRA adapter wraps the table,
 * through {@link linear} on its transpose.
 */
export function tiedHead(x: tf.Tensor2D, table: tf.Tensor2D, lora?: LoraAdapter): tf.Tensor2D {
  if (!lora) return linearTransposed(x, table);
  return linear(x, tf.transpose(table), undefined, lora) as tf.Tensor2D;
}

/** Reused accumulators for {@link columnSums}. */
let colAcc = new Float64Array(0);

/**
 * Column sums of x [N, C] → [C]. Every gradient of a per-channel parameter (bias, norm gain) is one of
 * these. On wasm they are summed in one pass over a view of its heap (in float64): its Sum over axis 0
 * transposes x first (~30x slower), and the product ones[1, N]·x, which the other backends use, first
 * packs all of x as XNNPACK's weights, 2-3x the time of the pass.
 */
export function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  const [n, c] = x.shape;
  const src = heapView(x);
  // Fill, not ones: a kernel that makes the ones where the backend computes, rather than an upload.
  if (!src) return tf.reshape(tf.matMul(tf.fill([1, n], 1), x), [c]);
  if (colAcc.length < c) colAcc = new Float64Array(c);
  sumRows(src, colAcc, n, c);
  return wasmTensor([c], (out) => {
    for (let j = 0; j < c; j++) out[j] = colAcc[j] as number;
  }) as tf.Tensor1D;
}

// The loop takes its arrays as arguments: V8 optimises it better than one over closed-over arrays.
function sumRows(src: Float32Array, acc: Float64Array, n: number, c: number): void {
  acc.fill(0, 0, c);
  let r = 0;
  for (; r + 8 <= n; r += 8) {
    const o = r * c;
    for (let j = 0; j < c; j++) {
      const k = o + j;
      const a =
        (src[k] as number) + (src[k + c] as number) + (src[k + 2 * c] as number) + (src[k + 3 * c] as number);
      const b =
        (src[k + 4 * c] as number) +
        (src[k + 5 * c] as number) +
        (src[k + 6 * c] as number) +
        (src[k + 7 * c] as number);
      acc[j] = (acc[j] as number) + (a + b);
    }
  }
  for (; r < n; r++) {
    const o = r * c;
    for (let j = 0; j < c; j++) acc[j] = (acc[j] as number) + (src[o + j] as number);
  }
}

/** y [N, C] + bias [C], broadcast over rows; the bias gradient is a column sum of dy. */
const addBias = tf.customGrad((...args) => {
  const [y, b] = args as [tf.Tensor2D, tf.Tensor1D, Save];
  return {
    value: tf.add(y, b),
    gradFunc: (dy) => [tf.reshape(dy, dy.shape), columnSums(dy as tf.Tensor2D)],
  };
}) as (y: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/**
 * A low-rank adapter on one weight: y = x·W + scale·(drop(x)·A)·B, A [in, r], B [r, out]. `dropout`, set only
 * while training, is PEFT's adapter dropout: each element of the adapter's copy of x is zeroed with
 * probability `rate` and the rest scaled by 1 / (1 − rate), from a mask drawn with `seed`.
 */
export interface LoraAdapter {
  a: tf.Tensor2D;
  b: tf.Tensor2D;
  scale: number;
  dropout?: { rate: number; seed: number };
}

/** Regimen's dropout-mask kernel: no inputs; attrs {@link DropoutMaskAttrs}; a float32 mask of `shape`. */
export const DROPOUT_MASK_KERNEL = 'RegimenDropoutMask';

export interface DropoutMaskAttrs {
  shape: number[];
  /** The seed, mixed once on the host. */
  seedMix: number;
  /** An element is kept when the top 24 bits of its hash are ≥ this (⌈rate·2²⁴⌉). */
  threshold: number;
  /** What a kept element is multiplied by: 1 / (1 − rate), as a float32. */
  keepScale: number;
}

/** lowbias32 (a 32-bit integer hash), in the arithmetic WGSL's u32 has. */
function hash32(x0: number): number {
  let x = x0 >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export function dropoutMaskAttrs(shape: number[], rate: number, seed: number): DropoutMaskAttrs {
  return {
    shape,
    seedMix: hash32(seed ^ 0x9e3779b9),
    threshold: Math.ceil(rate * 2 ** 24),
    keepScale: Math.fround(1 / (1 - rate)),
  };
}

/**
 * The mask's values: element i is kept when hash32(i ^ seedMix)'s top 24 bits reach the threshold. A
 * counter-based generator in integer arithmetic, so every backend (the host loop here, the WGSL kernel on
 * webgpu) draws the same mask for the same seed, and nothing is uploaded per step on a GPU.
 */
export function dropoutMaskValues(a: DropoutMaskAttrs): Float32Array {
  const n = a.shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = hash32(i ^ a.seedMix) >>> 8 >= a.threshold ? a.keepScale : 0;
  return out;
}

// On the host backends the mask is written where the backend keeps it.
for (const [backendName, access] of Object.entries(HOST_BACKENDS)) {
  tf.registerKernel({
    kernelName: DROPOUT_MASK_KERNEL,
    backendName,
    kernelFunc: ({ backend, attrs }) => {
      const a = attrs as unknown as DropoutMaskAttrs;
      const out = access.output(backend, a.shape);
      out.values().set(dropoutMaskValues(a));
      return out.info;
    },
  });
}

/**
 * x with each element zeroed with probability `rate` and the rest scaled by 1 / (1 − rate), the mask drawn
 * where the tensors live (one kernel; a backend without Regimen's kernel gets it from the host).
 */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate <= 0) return x;
  const attrs = dropoutMaskAttrs(x.shape.slice(), rate, seed);
  const mask = tf.getKernel(DROPOUT_MASK_KERNEL, tf.getBackend())
    ? (tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor)
    : tf.tensor(dropoutMaskValues(attrs), attrs.shape, 'float32');
  return tf.mul(x, mask);
}

/**
 * The single op through which every weight matrix is applied. x [..., in], w [in, out], optional bias [out]
 * and LoRA adapter; the result keeps x's leading dimensions.
 */
export function linear(x: tf.Tensor, w: tf.Tensor2D, bias?: tf.Tensor1D, lora?: LoraAdapter): tf.Tensor {
  const [nIn, nOut] = w.shape;
  const lead = x.shape.slice(0, -1);
  const x2 = (x.rank === 2 ? x : tf.reshape(x, [-1, nIn])) as tf.Tensor2D; // [N, in]
  let y: tf.Tensor2D = linear2d(x2, w); // [N, out]
  if (lora) {
    const xa = lora.dropout ? (dropout(x2, lora.dropout.rate, lora.dropout.seed) as tf.Tensor2D) : x2;
    const low = linear2d(linear2d(xa, lora.a), lora.b); // [N, out]
    y = tf.add(y, lora.scale === 1 ? low : tf.mul(low, constant(lora.scale)));
  }
  if (bias) y = addBias(y, bias);
  return x.rank === 2 ? y : tf.reshape(y, [...lead, nOut]);
}

/**
 * x [N, C] cut into column blocks of the given widths, for the gradient tape. tfjs's split copies all of
 * x once per block on wasm (its Slice reads the whole input out of the heap) and its gradient is a
 * concat; here each block is copied out of a view of the heap, and its gradient is dy padded with zeros
 * to x's width (the tape adds the blocks' gradients).
 */
export function splitColumns(x: tf.Tensor2D, widths: number[]): tf.Tensor2D[] {
  const [n, c] = x.shape;
  if (widths.reduce((a, b) => a + b, 0) !== c)
    throw new Error(`splitColumns: widths [${widths}] do not add up to ${c} columns`);
  let start = 0;
  return widths.map((width) => {
    const from = start;
    start += width;
    const f = tf.customGrad((...args) => {
      const [xs] = args as [tf.Tensor2D];
      return {
        value: columnBlock(xs, from, width),
        gradFunc: (dy) =>
          tf.pad(dy as tf.Tensor2D, [
            [0, 0],
            [from, c - from - width],
          ]),
      };
    });
    return f(x) as tf.Tensor2D;
  });
  function columnBlock(xs: tf.Tensor2D, from: number, width: number): tf.Tensor2D {
    if (!heapView(xs)) return tf.slice(xs, [0, from], [n, width]);
    return wasmTensor([n, width], (out) => {
      const src = heapView(xs) as Float32Array;
      for (let r = 0; r < n; r++) out.set(src.subarray(r * c + from, r * c + from + width), r * width);
    }) as tf.Tensor2D;
  }
}

/**
 * Batched product a·b (or a·bᵀ with `transposeB`) over leading dims (equal in a and b, no broadcasting),
 * with its gradients as batched products with transposed operands (no transposes materialised).
 */
export function bmm(a: tf.Tensor, b: tf.Tensor, transposeB = false): tf.Tensor {
  const f = tf.customGrad((...args) => {
    const [as, bs, save] = args as [tf.Tensor, tf.Tensor, Save];
    save([as, bs]);
    return {
      value: batchProduct(as, false, bs, transposeB),
      gradFunc: (dy, saved) => {
        const [av, bv] = saved as [tf.Tensor, tf.Tensor];
        const g = dy as tf.Tensor;
        // c = a·b: da = g·bᵀ, db = aᵀ·g.  c = a·bᵀ: da = g·b, db = gᵀ·a.
        return transposeB
          ? [batchProduct(g, false, bv, false), batchProduct(g, true, av, false)]
          : [batchProduct(g, false, bv, true), batchProduct(av, true, g, false)];
      },
    };
  });
  return f(a, b);
}

/** op(a)·op(b) over equal leading dims, op = transpose of the last two axes where asked: one kernel call. */
function batchProduct(a: tf.Tensor, ta: boolean, b: tf.Tensor, tb: boolean): tf.Tensor {
  const lead = a.shape.slice(0, -2);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = ta ? [ac, ar] : [ar, ac];
  const [k2, n] = tb ? [bc, br] : [br, bc];
  const leadB = b.shape.slice(0, -2);
  if (k !== k2 || lead.length !== leadB.length || lead.some((d, i) => d !== leadB[i]))
    throw new Error(
      `bmm: shapes [${a.shape}]${ta ? 'ᵀ' : ''} and [${b.shape}]${tb ? 'ᵀ' : ''} do not multiply (equal leading dims expected)`,
    );
  const blocks = lead.reduce((p, d) => p * d, 1);
  const product = tf.matMul(tf.reshape(a, [blocks, ar, ac]), tf.reshape(b, [blocks, br, bc]), ta, tb);
  return tf.reshape(product, [...lead, m, n]); // [..., M, N]
}

/**
 * Embedding lookup: rows of table [V, D] for ids (int32, any shape) → [...ids.shape, D]. The gradient is a
 * scatter-add of dy into the table's shape (wasm has ScatterNd but not the UnsortedSegmentSum that
 * `gather`'s own gradient needs).
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const [vocab, dim] = table.shape;
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D; // [N]
  const rows = embedRows(table, flat, vocab); // [N, D]
  return tf.reshape(rows, [...ids.shape, dim]);
}

function embedRows(table: tf.Tensor2D, flatIds: tf.Tensor1D, vocab: number): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [t, i, save] = args as [tf.Tensor2D, tf.Tensor1D, Save];
    save([i]);
    return {
      value: gatherRows(t, i), // [N, D]
      gradFunc: (dy, saved) => {
        const [idx] = saved as [tf.Tensor1D];
        const dTable = embeddingGrad(idx, dy as tf.Tensor2D, vocab); // [V, D]
        return [dTable, tf.zerosLike(idx)];
      },
    };
  });
  return f(table, flatIds) as tf.Tensor2D;
}

/** Regimen's embedding-gradient kernel: inputs ids [N] (int32) and dy [N, D]; attr `vocab`; output [vocab, D]. */
export const EMBEDDING_GRAD_KERNEL = 'RegimenEmbeddingGrad';

/**
 * ∂table of an embedding lookup: row `id` of the result is the sum of dy's rows at the positions holding `id`,
 * summed in position order. scatterND gives that on the host backends; on webgpu tfjs's scatter adds with
 * atomics, in whatever order the GPU runs them, so a repeated token made every run (and every resume) differ in
 * the last bits. There Regimen's kernel sums in position order (webgpu-kernels.ts).
 */
function embeddingGrad(ids: tf.Tensor1D, dy: tf.Tensor2D, vocab: number): tf.Tensor2D {
  if (tf.getKernel(EMBEDDING_GRAD_KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(EMBEDDING_GRAD_KERNEL, { ids, dy }, { vocab }) as tf.Tensor2D;
  }
  return tf.scatterND(tf.reshape(ids, [-1, 1]), dy, [vocab, dy.shape[1]]) as tf.Tensor2D;
}

/** table[ids] for a 2-D table; on wasm copied row by row out of a view of its heap (GatherV2 there is slow). */
function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (!heapView(table) || !heapViewInt(ids)) return tf.gather(table, ids);
  const [vocab, dim] = table.shape;
  const n = ids.size;
  return wasmTensor([n, dim], (out) => {
    const idx = heapViewInt(ids) as Int32Array;
    const src = heapView(table) as Float32Array;
    for (let r = 0; r < n; r++) {
      const id = idx[r] as number;
      if (!(id >= 0 && id < vocab)) throw new RangeError(`embedding: id ${id} is outside [0, ${vocab})`);
      out.set(src.subarray(id * dim, (id + 1) * dim), r * dim);
    }
  }) as tf.Tensor2D;
}

/** x as 2-D [rows, last axis], and a function that gives a 2-D result x's shape back. */
function rows2d(x: tf.Tensor): [tf.Tensor2D, (y: tf.Tensor2D) => tf.Tensor] {
  if (x.rank === 2) return [x as tf.Tensor2D, (y) => y];
  const d = x.shape[x.rank - 1] as number;
  return [tf.reshape(x, [-1, d]) as tf.Tensor2D, (y) => tf.reshape(y, x.shape)];
}

/**
 * LayerNorm over the last axis with gain and bias. The gradient is written out (dx = r·(g − mean(g) −
 * x̂·mean(g·x̂)) with g = dy·gain, r = 1/σ), which takes a third of autodiff's elementwise ops, and the
 * gain and bias gradients are column sums on the plain matMul path.
 */
export function layerNorm(x: tf.Tensor, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor {
  const [x2, back] = rows2d(x);
  const f = tf.customGrad((...args) => {
    const [xs, gs, bs, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, Save];
    const mean = tf.mean(xs, -1, true); // [N, 1]
    const centered = tf.sub(xs, mean);
    const variance = tf.mean(tf.square(centered), -1, true); // [N, 1]
    const rstd = tf.rsqrt(tf.add(variance, constant(eps))); // [N, 1]
    const xhat = tf.mul(centered, rstd); // [N, D]
    const restore = saveFor(save, [xhat, rstd, gs]);
    return {
      value: tf.add(tf.mul(xhat, gs), bs),
      gradFunc: (dy, saved) => {
        const [xh, r, gain] = restore(saved) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const d = dy as tf.Tensor2D;
        const g = tf.mul(d, gain); // [N, D]
        const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true)));
        return [tf.mul(inner, r), columnSums(tf.mul(d, xh) as tf.Tensor2D), columnSums(d)];
      },
    };
  });
  return back(f(x2, gain, bias) as tf.Tensor2D);
}

/**
 * RMSNorm (Llama): x / sqrt(mean(x²) + eps) · gain. Gradient written out as for {@link layerNorm}:
 * dx = r·(g − x̂·mean(g·x̂)) with g = dy·gain.
 */
export function rmsNorm(x: tf.Tensor, gain: tf.Tensor1D, eps: number): tf.Tensor {
  const [x2, back] = rows2d(x);
  const f = tf.customGrad((...args) => {
    const [xs, gs, save] = args as [tf.Tensor2D, tf.Tensor1D, Save];
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(xs), -1, true), constant(eps))); // [N, 1]
    const xhat = tf.mul(xs, r); // [N, D]
    const restore = saveFor(save, [xhat, r, gs]);
    return {
      value: tf.mul(xhat, gs),
      gradFunc: (dy, saved) => {
        const [xh, rs, gain] = restore(saved) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const d = dy as tf.Tensor2D;
        const g = tf.mul(d, gain); // [N, D]
        const inner = tf.sub(g, tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true)));
        return [tf.mul(inner, rs), columnSums(tf.mul(d, xh) as tf.Tensor2D)];
      },
    };
  });
  return back(f(x2, gain) as tf.Tensor2D);
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU (tanh) as x·σ(x·(GELU_A·x² + GELU_B)): the coefficients of u = 2c(x + 0.044715x³) = x·(a·x² + b). */
export const GELU_A = 2 * GELU_C * 0.044715;
export const GELU_B = 2 * GELU_C;

/**
 * GELU, tanh approximation (GPT-2's `gelu_new`), written as x·σ(u) with u = 2c(x + 0.044715x³) — the same
 * function, since ½(1 + tanh z) = σ(2z) — which takes fewer ops. Its gradient is written out from the saved
 * x², σ(u) and output y = x·σ:
 * dy·(σ + y·(1 − σ)·u'(x)), u'(x) = 2c(1 + 3·0.044715x²), a third of autodiff's elementwise ops (saving
 * costs no copies where wasm's Identity shares memory, see {@link shareIdentityOnWasm}). Same forward values.
 */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args) => {
    const [xs, save] = args as [tf.Tensor, Save];
    const x2 = tf.square(xs);
    const s = tf.sigmoid(tf.mul(xs, tf.add(tf.mul(x2, constant(GELU_A)), constant(GELU_B))));
    const y = tf.mul(xs, s);
    save([x2, s, y]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [x2v, sv, yv] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const du = tf.add(tf.mul(x2v, constant(3 * GELU_A)), constant(GELU_B)); // u'(x)
        return tf.mul(dy, tf.add(sv, tf.mul(tf.mul(yv, tf.sub(constant(1), sv)), du)));
      },
    };
  });
  return f(x);
}

/** SiLU (Llama's SwiGLU gate): x·σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Mean cross-entropy of logits [N, V] against integer targets [N]; targets < 0 are ignored. */
export function crossEntropy(logits: tf.Tensor2D, targets: number[] | Int32Array): tf.Scalar {
  const n = logits.shape[0];
  const vocab = logits.shape[1];
  if (targets.length !== n) throw new Error(`crossEntropy: ${targets.length} targets for ${n} logit rows`);
  const oneHot = new Float32Array(n * vocab);
  let counted = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    if (t < 0) continue;
    if (t >= vocab) throw new RangeError(`crossEntropy: target ${t} at row ${i} is outside [0, ${vocab})`);
    oneHot[i * vocab + t] = 1;
    counted++;
  }
  if (counted === 0) throw new Error('crossEntropy: every target is ignored');
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits); // [N, V]
    const picked = tf.sum(tf.mul(logp, tf.tensor2d(oneHot, [n, vocab]))); // []
    return tf.div(tf.neg(picked), counted) as tf.Scalar;
  });
}
