// One-off probe for the first GPU run: tfjs-webgpu's own matMul at the training shapes of GPT-2 small,
// per program type (WEBGPU_MATMUL_PROGRAM_TYPE), TFLOP/s from back-to-back products and one tiny readback.
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../apps/worker/src/backend.ts';

await selectBackend(process.argv[2] ?? 'webgpu');
const shapes: Array<[string, number, number, number, number, boolean, boolean]> = [
  ['qkv x·W', 1, 4096, 768, 2304, false, false],
  ['fc x·W', 1, 4096, 768, 3072, false, false],
  ['proj x·W', 1, 4096, 3072, 768, false, false],
  ['head x·Wᵀ', 1, 4096, 768, 50304, false, true],
  ['dx=dy·Wᵀ', 1, 4096, 2304, 768, false, true],
  ['dW=xᵀ·dy', 1, 768, 4096, 2304, true, false],
  ['head dW=dyᵀ·x', 1, 50304, 4096, 768, true, false],
  ['attn q·kᵀ', 96, 512, 64, 512, false, true],
  ['attn p·v', 96, 512, 512, 64, false, false],
  ['square 2048', 1, 2048, 2048, 2048, false, false],
  ['decode 1×768·768×2304', 1, 1, 768, 2304, false, false],
  ['decode head 1×768·(50304×768)ᵀ', 1, 1, 768, 50304, false, true],
];
const types = (process.argv[3] ?? '-1,3,1').split(',').map(Number);
for (const [name, b, m, k, n, ta, tb] of shapes) {
  const a = tf.randomNormal(ta ? [b, k, m] : [b, m, k]);
  const w = tf.randomNormal(tb ? [b, n, k] : [b, k, n]);
  const line: string[] = [];
  for (const type of types) {
    tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', type);
    const reps = m * n * k * b > 1e10 ? 10 : 30;
    const once = async (r: number) => {
      let last: tf.Tensor | undefined;
      for (let i = 0; i < r; i++) {
        last?.dispose();
        last = tf.matMul(a, w, ta, tb);
      }
      const probe = tf.slice(tf.reshape(last as tf.Tensor, [-1]), [0], [1]);
      await probe.data();
      tf.dispose([probe, last as tf.Tensor]);
    };
    try {
      await once(2);
      const t0 = performance.now();
      await once(reps);
      const ms = (performance.now() - t0) / reps;
      line.push(`type ${type}: ${((2 * b * m * n * k) / ms / 1e9).toFixed(2)} TFLOP/s (${ms.toFixed(3)} ms)`);
    } catch (e) {
      line.push(`type ${type}: failed ${(e as Error).message.split('\n')[0]}`);
    }
  }
  console.log(`matmul ${name} [${b}x${m}x${k}x${n}] ${line.join(' | ')}`);
  tf.dispose([a, w]);
}
tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', -1);
