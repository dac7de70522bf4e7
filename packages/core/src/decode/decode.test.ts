import { describeDecodingOnDevice } from '../testing/decode-suite.ts';

// The device-side decoding suite on the host backends; decode.webgpu.test.ts runs it on webgpu.
describeDecodingOnDevice('cpu');
describeDecodingOnDevice('wasm');
