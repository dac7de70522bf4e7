import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { webgpuAdapter } from '@regimen/core/testing/tf-backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTrainCli } from '../../testing/run-cli.ts';

skipReasonWithoutSharedData();
const adapter = await webgpuAdapter();

// `REGIMEN_BACKEND=webgpu regimen train` on stories260K: the losses `REGIMEN_BACKEND=cpu` prints, to 1e-4,
// and a run killed with SIGKILL resumes on webgpu with exactly the uninterrupted losses.
describe.skipIf(!hasSharedData || !adapter)(`regimen train on webgpu (${adapter ?? 'no adapter'})`, () => {
  let dir: string;
  const args = (config: string, out: string) => [
    '--config',
    join(dir, config),
    '--out',
    join(dir, out),
    '--dataset-file',
    sharedData('lima', 'lima.json'),
    '--dataset-format',
    'lima',
    '--tokenizer',
    sharedData('llama2c_stories260K', 'tok512.bin'),
  ];
  const on = (backend: string) => ({ REGIMEN_BACKEND: backend });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'regimen-train-webgpu-'));
    const train = {
      maxSteps: 6,
      batchSize: 2,
      learningRate: 1e-3,
      warmupSteps: 1,
      maxSeqLen: 64,
      checkpointEvery: 2,
    };
    const base = {
      baseModel: sharedData('llama2c_stories260K', 'stories260K.bin'),
      regime: { name: 'instruction-tuning' },
      seed: 4,
    };
    writeFileSync(join(dir, 'full.json'), JSON.stringify({ ...base, train }));
    const lora = { rank: 4, alpha: 8, dropout: 0.1, targetModules: ['q', 'v'] };
    writeFileSync(
      join(dir, 'lora.json'),
      JSON.stringify({ ...base, train: { ...train, maxSteps: 3, method: 'lora', lora } }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the cpu backend losses, and resumes a killed run exactly', async () => {
    const cpu = await runTrainCli(args('full.json', 'cpu'), undefined, on('cpu'));
    const gpu = await runTrainCli(args('full.json', 'webgpu'), undefined, on('webgpu'));
    expect(gpu.log).toMatch(/backend: webgpu/);
    expect([...gpu.losses.keys()]).toEqual([1, 2, 3, 4, 5, 6]);
    for (const [s, l] of cpu.losses)
      expect(Math.abs(Number(gpu.losses.get(s)) - Number(l)), `step ${s}`).toBeLessThan(1e-4);

    const killed = await runTrainCli(args('full.json', 'killed'), 5, on('webgpu'));
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await runTrainCli([...args('full.json', 'killed'), '--resume'], undefined, on('webgpu'));
    expect(resumed.log).toMatch(/resuming from .*step-000004 \(step 4\)/);
    expect([...resumed.losses.keys()]).toEqual([5, 6]);
    for (const s of [5, 6]) expect(resumed.losses.get(s)).toBe(gpu.losses.get(s));
  }, 600_000);

  it('trains LoRA adapters with dropout as the cpu backend does', async () => {
    const cpu = await runTrainCli(args('lora.json', 'lora-cpu'), undefined, on('cpu'));
    const gpu = await runTrainCli(args('lora.json', 'lora-webgpu'), undefined, on('webgpu'));
    expect([...gpu.losses.keys()]).toEqual([1, 2, 3]);
    expect(gpu.log).toContain('done: 3 steps');
    for (const [s, l] of cpu.losses)
      expect(Math.abs(Number(gpu.losses.get(s)) - Number(l)), `step ${s}`).toBeLessThan(1e-4);
  }, 600_000);
});
