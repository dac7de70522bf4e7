import { deviceTrainingSuite } from './device-suite.ts';

// The host backends; device.webgpu.test.ts runs the same checks on webgpu.
deviceTrainingSuite('cpu');
deviceTrainingSuite('wasm');
