import { referenceLossSuite } from './device-suite.ts';

// The bench reference on the host backends; reference.webgpu.test.ts runs it on webgpu.
referenceLossSuite('wasm');
referenceLossSuite('cpu');
