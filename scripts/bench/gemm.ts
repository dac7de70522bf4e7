// `npm run bench -- gemm [--backend NAME] [--quick] [--variants a,b,...] [--shapes s,...] [--splits 1,2,...] [--runs N] [--ms N]`:
// times Regimen's webgpu matrix-product variants (packages/core/src/model/webgpu-gemm.ts), the plan it picks
// ('auto') and tfjs's own kernel ('tfjs') on the products of training and decoding GPT-2-small and
// TinyLlama, and prints TFLOP/s per (shape, variant) and the best per shape. Lines start with `result`,
// `best` or `summary`, one record per line as key=value pairs, for grep; a table follows.
//
// The backend comes from selectBackend (REGIMEN_BACKEND forces one; webgpu then takes a software adapter
// too). On another backend only 'tfjs' (that backend's own kernel) is timed.
//
// Each variant's first product is checked against tfjs's result (`err`, max |Δ| / max |C|; WRONG past
// MAX_ERROR, and left out of `best`). Each timing then issues N products back to back and awaits a
// one-element readback of the last, so that GPU time dominates; N is set from a first timed product to fill
// about --ms milliseconds (at most MAX_N), and the median of --runs such timings is reported. --quick:
// small shapes, for a software adapter. --splits 1,2,4 times every variant at each split-K factor as well.
//
// On a GPU machine without Node (GPU-NOTES.md): `bash scripts/gpu/pack.sh` here, then there
// `bash .gpu/run.sh "gemm --backend webgpu"`.
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, selectBackend } from '../../apps/worker/src/backend.ts';
import {
  type GemmLimits,
  type GemmProblem,
  installWebgpuGemm,
  planWebgpuGemm,
  VARIANTS,
  webgpuGemmCalls,
} from '../../packages/core/src/model/webgpu-gemm.ts';

interface Shape extends GemmProblem {
  name: string;
  bias: boolean;
}

const MAX_N = 200;
/** A variant whose result differs from tfjs's by more than this (relative to its largest entry) is WRONG. */
const MAX_ERROR = 1e-4;

/** `[B*]MxKxN[:nn|nt|tn|tt][+bias]`, e.g. `96*512x64x512:nt` or `1x768x2304+bias`. */
function parseShape(spec: string, name = spec): Shape {
  const match = /^(?:(\d+)\*)?(\d+)x(\d+)x(\d+)(?::([nt])([nt]))?(\+bias)?$/.exec(spec);
  if (!match)
    throw new Error(`--shapes: "${spec}" is neither a shape name nor [B*]MxKxN[:nn|nt|tn|tt][+bias]`);
  const [, b, m, k, n, ta, tb, bias] = match;
  return {
    name,
    batch: Number(b ?? 1),
    m: Number(m),
    k: Number(k),
    n: Number(n),
    transposeA: ta === 't',
    transposeB: tb === 't',
    bias: !!bias,
  };
}

const shapes = (list: Array<[string, string]>) => list.map(([name, spec]) => parseShape(spec, name));

// GPT-2-small (D 768, vocabulary 50304) and TinyLlama (D 2048, MLP 5632, vocabulary 32000) trained at
// B·T = 8·512 = 4096 rows: weights are [in, out], so y = x·W (nn), dx = dy·Wᵀ (nt), dW = xᵀ·dy (tn); the
// tied head is x·Eᵀ (nt), its dx = dlogits·E (nn, K 50304) and dE = dlogitsᵀ·x (tn). Attention runs 96 =
// 8 × 12 heads of [512, 64]. Decoding: 1 or 8 rows through a fused product with a bias, and the head.
const FULL = shapes([
  ['gpt2.qkv', '4096x768x2304'],
  ['gpt2.proj', '4096x768x768'],
  ['gpt2.fc1', '4096x768x3072'],
  ['gpt2.fc2', '4096x3072x768'],
  ['gpt2.head', '4096x768x50304:nt'],
  ['gpt2.qkv.dx', '4096x2304x768:nt'],
  ['gpt2.fc1.dx', '4096x3072x768:nt'],
  ['gpt2.qkv.dw', '768x4096x2304:tn'],
  ['gpt2.proj.dw', '768x4096x768:tn'],
  ['gpt2.fc2.dw', '3072x4096x768:tn'],
  ['gpt2.head.dx', '4096x50304x768'],
  ['gpt2.head.dw', '50304x4096x768:tn'],
  ['attn.scores', '96*512x64x512:nt'],
  ['attn.pv', '96*512x512x64'],
  ['attn.dv', '96*512x512x64:tn'],
  ['llama.q', '4096x2048x2048'],
  ['llama.up', '4096x2048x5632'],
  ['llama.down', '4096x5632x2048'],
  ['llama.head', '4096x2048x32000:nt'],
  ['llama.down.dw', '5632x4096x2048:tn'],
  ['dec1.q', '1x768x768+bias'],
  ['dec1.fc1', '1x768x3072+bias'],
  ['dec8.fc2', '8x3072x768+bias'],
  ['dec1.head', '1x768x50304:nt'],
  ['dec8.head', '8x768x50304:nt'],
  ['dec1.llama.up', '1x2048x5632'],
  ['dec1.llama.head', '1x2048x32000:nt'],
  ['dec.attn', '96*1x64x512:nt'],
]);

/** Small shapes for a software adapter (~1 GFLOP/s): every kind of product, a few MFLOP each. */
const QUICK = shapes([
  ['q.nn', '256x128x192'],
  ['q.nt', '256x128x256:nt'],
  ['q.tn', '128x256x128:tn'],
  ['q.tt', '130x70x129:tt'],
  ['q.attn', '8*128x32x128:nt'],
  ['q.bias', '256x128x192+bias'],
  ['q.dec1', '1x256x1024:nt'],
  ['q.dec8', '8x256x512+bias'],
]);

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

function count(args: string[], name: string, fallback: number): number {
  const value = option(args, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got ${value}`);
  return n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const flops = (s: Shape) => 2 * s.batch * s.m * s.n * s.k;
const op = (s: Shape) => `${s.transposeA ? 't' : 'n'}${s.transposeB ? 't' : 'n'}`;
const describe = (s: Shape) =>
  `shape=${s.name} batch=${s.batch} m=${s.m} k=${s.k} n=${s.n} op=${op(s)}${s.bias ? '+bias' : ''}`;

interface Operands {
  a: tf.Tensor;
  b: tf.Tensor;
  bias?: tf.Tensor1D;
}

function operands(s: Shape): Operands {
  const lead = s.batch > 1 ? [s.batch] : [];
  return {
    a: tf.randomUniform([...lead, ...(s.transposeA ? [s.k, s.m] : [s.m, s.k])], -1, 1, 'float32', 1),
    b: tf.randomUniform([...lead, ...(s.transposeB ? [s.n, s.k] : [s.k, s.n])], -1, 1, 'float32', 2),
    bias: s.bias ? tf.randomUniform([s.n], -1, 1, 'float32', 3) : undefined,
  };
}

function product(s: Shape, o: Operands): tf.Tensor {
  const { a, b, bias } = o;
  return bias
    ? tf.fused.matMul({ a, b, bias, transposeA: s.transposeA, transposeB: s.transposeB })
    : tf.matMul(a, b, s.transposeA, s.transposeB);
}

/** ms for n products issued back to back, up to a one-element readback of the last. */
async function timed(s: Shape, o: Operands, n: number): Promise<number> {
  const started = performance.now();
  let last: tf.Tensor | undefined;
  for (let i = 0; i < n; i++) {
    last?.dispose();
    last = product(s, o);
  }
  const probe = tf.tidy(() => tf.slice(tf.reshape(last as tf.Tensor, [-1]), [0], [1]));
  await probe.data();
  const ms = performance.now() - started;
  tf.dispose([probe, last as tf.Tensor]);
  return ms;
}

interface Measurement {
  variant: string;
  plan: string;
  ms: number;
  tflops: number;
}

/** max |c − reference| / max |reference|, read back as two numbers. */
async function relativeError(c: tf.Tensor, reference: tf.Tensor): Promise<number> {
  const both = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.sub(c, reference))), tf.max(tf.abs(reference))]));
  const [diff, scale] = await both.data();
  both.dispose();
  return (diff as number) / Math.max(scale as number, 1e-30);
}

/**
 * The first product (it compiles the pipelines) checked against `reference` (tfjs's result), then the
 * median ms per product; undefined where `ran` says another kernel took the product.
 */
async function measure(
  s: Shape,
  o: Operands,
  settings: { runs: number; targetMs: number },
  ran: () => boolean,
  reference?: tf.Tensor,
): Promise<{ ms: number; error?: number } | undefined> {
  const first = product(s, o);
  const error = reference ? await relativeError(first, reference) : undefined;
  if (!reference) await tf.tidy(() => tf.slice(tf.reshape(first, [-1]), [0], [1])).data();
  first.dispose();
  if (!ran()) return undefined;
  const once = await timed(s, o, 1);
  const n = Math.max(1, Math.min(MAX_N, Math.round(settings.targetMs / Math.max(once, 1e-3))));
  // A product that fills the target alone counts as the first run (the large products of the full table).
  const times: number[] = n === 1 ? [once] : [];
  while (times.length < settings.runs) times.push((await timed(s, o, n)) / n);
  return { ms: median(times), error };
}

function planName(s: Shape, limits: GemmLimits, variant?: string, splits?: number): string {
  const plan = planWebgpuGemm(s, limits, { variant, splits });
  return plan ? `${plan.variant.name}/s${plan.splits}` : 'tfjs';
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const settings = {
    runs: count(args, '--runs', 3),
    targetMs: count(args, '--ms', quick ? 50 : 15),
  };
  const table = quick ? QUICK : FULL;
  const named = new Map([...FULL, ...QUICK].map((s) => [s.name, s]));
  const shapeArg = option(args, '--shapes');
  const list = shapeArg ? shapeArg.split(',').map((x) => named.get(x) ?? parseShape(x)) : table;
  const splitArg = option(args, '--splits');
  const splits = splitArg ? splitArg.split(',').map((x) => Number(x)) : [undefined];
  if (splits.some((x) => x !== undefined && !(Number.isInteger(x) && x >= 1)))
    throw new Error(`--splits: expected positive integers, got ${splitArg}`);

  const started = performance.now();
  const forced = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : undefined;
  const backend = await selectBackend(forced);
  const webgpu = backend.name === 'webgpu';
  console.log(`gemm backend=${backend.name} (${describeBackend(backend)})`);
  const limits = webgpu
    ? ((tf.backend() as unknown as { device: { limits: GemmLimits } }).device.limits as GemmLimits)
    : undefined;
  if (limits)
    console.log(
      `gemm limits workgroup_storage=${limits.maxComputeWorkgroupStorageSize} max_binding=${limits.maxStorageBufferBindingSize}`,
    );
  else console.log(`gemm note: not webgpu, so only the backend's own kernel ('tfjs') is timed`);
  const variantArg = option(args, '--variants');
  const variants = webgpu
    ? (variantArg?.split(',') ?? ['tfjs', 'auto', ...VARIANTS.map((v) => v.name)])
    : ['tfjs'];

  const summary: Array<{ shape: Shape; best?: Measurement; tfjs?: Measurement; auto?: Measurement }> = [];
  for (const s of list) {
    const o = operands(s);
    const results: Measurement[] = [];
    // tfjs's own result, to check every variant's first product against.
    if (webgpu) installWebgpuGemm({ variant: 'tfjs' });
    const reference = webgpu ? product(s, o) : undefined;
    for (const variant of variants) {
      for (const split of variant === 'tfjs' || variant === 'auto' ? [undefined] : splits) {
        const label = split === undefined ? variant : `${variant}/s${split}`;
        if (webgpu) installWebgpuGemm({ variant, splits: split });
        const plan = limits ? planName(s, limits, variant === 'auto' ? undefined : variant, split) : 'tfjs';
        if (variant !== 'tfjs' && variant !== 'auto' && !plan.startsWith(`${variant}/`)) {
          console.log(`result ${describe(s)} variant=${label} plan=${plan} skipped=unsupported`);
          continue;
        }
        const before = { ...webgpuGemmCalls };
        const ran = () =>
          variant === 'tfjs' ? webgpuGemmCalls.ours === before.ours : webgpuGemmCalls.ours > before.ours;
        let measured: Awaited<ReturnType<typeof measure>>;
        try {
          measured = await measure(s, o, settings, ran, variant === 'tfjs' ? undefined : reference);
        } catch (e) {
          const why = (e as Error).message.split('\n')[0]?.replace(/\s+/g, '_');
          console.log(`result ${describe(s)} variant=${label} plan=${plan} skipped=error:${why}`);
          continue;
        }
        if (!measured) {
          console.log(`result ${describe(s)} variant=${label} plan=${plan} skipped=deferred-to-tfjs`);
          continue;
        }
        const { ms, error } = measured;
        const wrong = error !== undefined && !(error < MAX_ERROR);
        const m: Measurement = { variant: label, plan, ms, tflops: flops(s) / ms / 1e9 };
        if (!wrong) results.push(m);
        console.log(
          `result ${describe(s)} variant=${label} plan=${plan} ms=${ms.toFixed(4)} tflops=${m.tflops.toPrecision(3)}` +
            (error === undefined ? '' : ` err=${error.toExponential(1)}${wrong ? ' WRONG' : ''}`),
        );
      }
    }
    tf.dispose([o.a, o.b, ...(o.bias ? [o.bias] : []), ...(reference ? [reference] : [])]);
    const ours = results.filter((r) => r.variant !== 'tfjs');
    const best = [...ours].sort((x, y) => x.ms - y.ms)[0];
    const tfjs = results.find((r) => r.variant === 'tfjs');
    const auto = results.find((r) => r.variant === 'auto');
    summary.push({ shape: s, best, tfjs, auto });
    if (best)
      console.log(
        `best ${describe(s)} variant=${best.variant} plan=${best.plan} tflops=${best.tflops.toPrecision(3)}` +
          (tfjs
            ? ` tfjs_tflops=${tfjs.tflops.toPrecision(3)} vs_tfjs=${(tfjs.ms / best.ms).toFixed(2)}x`
            : '') +
          (auto
            ? ` auto=${auto.plan} auto_tflops=${auto.tflops.toPrecision(3)} auto_vs_best=${(best.ms / auto.ms).toFixed(2)}`
            : ''),
      );
  }

  console.log('');
  console.log(
    `${'shape'.padEnd(16)} ${'GFLOP'.padStart(8)} ${'tfjs'.padStart(7)} ${'auto'.padStart(7)} ${'best'.padStart(7)}  best variant (TFLOP/s)`,
  );
  for (const { shape, best, tfjs, auto } of summary) {
    const t = (m?: Measurement) => (m ? m.tflops.toPrecision(3) : '-').padStart(7);
    console.log(
      `${shape.name.padEnd(16)} ${(flops(shape) / 1e9).toFixed(2).padStart(8)} ${t(tfjs)} ${t(auto)} ${t(best)}  ${best?.plan ?? ''}`,
    );
  }
  const totalFlops = summary.reduce((sum, r) => sum + flops(r.shape), 0);
  const totalMs = (pick: (r: (typeof summary)[number]) => Measurement | undefined) =>
    summary.every((r) => pick(r))
      ? summary.reduce((sum, r) => sum + (pick(r) as Measurement).ms, 0)
      : undefined;
  const line = (label: string, ms?: number) =>
    ms === undefined
      ? ''
      : ` ${label}_ms=${ms.toFixed(3)} ${label}_tflops=${(totalFlops / ms / 1e9).toPrecision(3)}`;
  console.log(
    `summary shapes=${summary.length}${line(
      'tfjs',
      totalMs((r) => r.tfjs),
    )}${line(
      'auto',
      totalMs((r) => r.auto),
    )}` +
      `${line(
        'best',
        totalMs((r) => r.best),
      )} wall_s=${((performance.now() - started) / 1000).toFixed(1)}`,
  );
}
