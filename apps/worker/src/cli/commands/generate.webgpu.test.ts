import { hasSharedData, sharedData, skipReasonWithoutSharedData } from '@regimen/core/testing/shared-data';
import { webgpuAdapter } from '@regimen/core/testing/tf-backend';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testing/run-cli.ts';

skipReasonWithoutSharedData();
const adapter = await webgpuAdapter();

// `REGIMEN_BACKEND=webgpu regimen generate` on stories260K decodes the greedy tokens `REGIMEN_BACKEND=cpu` does.
describe.skipIf(!hasSharedData || !adapter)(`regimen generate on webgpu (${adapter ?? 'no adapter'})`, () => {
  const generate = async (backend: string, extra: string[]) => {
    const { stdout } = await runCli(
      [
        'generate',
        '--model',
        sharedData('llama2c_stories260K', 'stories260K.bin'),
        '--prompt',
        'Lily saw',
        '--temperature',
        '0',
        '--json',
        ...extra,
      ],
      { REGIMEN_BACKEND: backend },
    );
    return JSON.parse(stdout) as { backend: string; generatedIds: number[]; text: string };
  };

  it('decodes the cpu backend greedy tokens, with and without a repetition penalty', async () => {
    for (const extra of [
      ['--max-new-tokens', '120'],
      ['--max-new-tokens', '60', '--repetition-penalty', '1.3'],
    ]) {
      const cpu = await generate('cpu', extra);
      const gpu = await generate('webgpu', extra);
      expect(gpu.backend).toMatch(/^webgpu/);
      expect(gpu.generatedIds.length).toBeGreaterThan(20);
      expect(gpu.generatedIds).toEqual(cpu.generatedIds);
      expect(gpu.text).toBe(cpu.text);
    }
  }, 300_000);
});
