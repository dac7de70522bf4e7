import type { Command } from 'commander';
import { adapterLines, describeBackend, selectBackend } from '../../backend.ts';

export function register(program: Command): void {
  program
    .command('backend')
    .description(
      'Show which tfjs backend this machine uses (tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu), its adapter, and why the earlier ones were skipped',
    )
    .action(async () => {
      const b = await selectBackend();
      console.log(describeBackend(b));
      if (b.adapter) for (const line of adapterLines(b.adapter)) console.log(line);
      for (const s of b.skipped) console.log(`  skipped ${s}`);
    });
}
