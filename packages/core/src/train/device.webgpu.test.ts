import { describe } from 'vitest';
import { webgpuAdapter } from '../testing/tf-backend.ts';
import { deviceTrainingSuite, referenceLossSuite } from './device-suite.ts';

const adapter = await webgpuAdapter();
describe.skipIf(!adapter)(`webgpu (${adapter ?? 'no adapter'})`, () => {
  deviceTrainingSuite('webgpu');
  referenceLossSuite('webgpu');
});
