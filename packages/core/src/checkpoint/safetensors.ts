import { closeSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor names to
 * {dtype, shape, data_offsets}, then the raw bytes. Tensors are read one at a time through a file handle,
 * so a checkpoint is never held in memory twice.
 */

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** Headers beyond this are not a safetensors file (the format caps them at 100 MB). */
const MAX_HEADER = 100_000_000;

/** An open safetensors file: its header, and tensors read on demand. Close it when done. */
export class SafetensorsFile {
  readonly entries = new Map<string, SafetensorsEntry>();
  readonly metadata: Record<string, string>;
  private readonly fd: number;
  private readonly dataStart: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      const lenBuf = Buffer.alloc(8);
      if (readSync(this.fd, lenBuf, 0, 8, 0) !== 8)
        throw new Error(`${path}: too short for a safetensors header`);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen <= 0 || headerLen > MAX_HEADER) {
        throw new Error(`${path}: header length ${headerLen} is not plausible; not a safetensors file?`);
      }
      const headerBuf = Buffer.alloc(headerLen);
      if (readSync(this.fd, headerBuf, 0, headerLen, 8) !== headerLen) {
        throw new Error(`${path}: file ends inside its ${headerLen}-byte header`);
      }
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${path}: header is not valid JSON (${(e as Error).message})`);
      }
      this.dataStart = 8 + headerLen;
      this.metadata = (header.__metadata__ as Record<string, string> | undefined) ?? {};
      for (const [name, raw] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
        if (typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
          throw new Error(`${path}: tensor ${name}: header entry needs dtype, shape and data_offsets`);
        }
        const [begin, end] = e.data_offsets as number[];
        this.entries.set(name, {
          name,
          dtype: e.dtype,
          shape: e.shape as number[],
          begin: begin!,
          end: end!,
        });
      }
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  /** A tensor's values as float32 (F32, F16 and BF16 are converted). */
  read(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.path}: no tensor named ${name}`);
    const size = e.shape.reduce((a, b) => a * b, 1);
    const width = BYTES[e.dtype as SafetensorsDtype];
    if (!width)
      throw new Error(`${this.path}: tensor ${name} has dtype ${e.dtype}; expected F32, F16 or BF16`);
    if (e.end - e.begin !== size * width) {
      throw new Error(
        `${this.path}: tensor ${name} [${e.shape}] ${e.dtype} needs ${size * width} bytes, header says ${e.end - e.begin}`,
      );
    }
    const bytes = Buffer.alloc(e.end - e.begin);
    const got = readSync(this.fd, bytes, 0, bytes.length, this.dataStart + e.begin);
    if (got !== bytes.length)
      throw new Error(`${this.path}: tensor ${name}: file ends after ${got} of ${bytes.length} bytes`);
    return toFloat32(bytes, e.dtype as SafetensorsDtype);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function toFloat32(bytes: Buffer, dtype: SafetensorsDtype): Float32Array {
  if (dtype === 'F32') {
    const out = new Float32Array(bytes.length / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = bytes.readUInt16LE(2 * i) << 16;
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(2 * i));
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** float32 → IEEE half bits, rounding to nearest even. */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

/** float32 → bfloat16 bits, rounding to nearest even. */
export function floatToBf16(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer)[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

/**
 * Writes tensors as safetensors in the given dtype (default F32), one tensor at a time. `produce` is called
 * per name in order so that callers can materialise each tensor only while it is written.
 */
export async function writeSafetensors(
  path: string,
  specs: Array<{ name: string; shape: number[] }>,
  produce: (name: string) => Float32Array | Promise<Float32Array>,
  opts: { dtype?: SafetensorsDtype; metadata?: Record<string, string> } = {},
): Promise<void> {
  const dtype = opts.dtype ?? 'F32';
  const width = BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  let offset = 0;
  for (const s of specs) {
    const bytes = s.shape.reduce((a, b) => a * b, 1) * width;
    header[s.name] = { dtype, shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jsonBytes.length));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, jsonBytes);
    for (const s of specs) {
      const data = await produce(s.name);
      const expected = s.shape.reduce((a, b) => a * b, 1);
      if (data.length !== expected) {
        throw new Error(
          `${path}: tensor ${s.name} has ${data.length} values, shape [${s.shape}] needs ${expected}`,
        );
      }
      writeSync(fd, encode(data, dtype));
    }
  } finally {
    closeSync(fd);
  }
}

function encode(data: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.alloc(data.length * 2);
  const conv = dtype === 'F16' ? floatToHalf : floatToBf16;
  for (let i = 0; i < data.length; i++) out.writeUInt16LE(conv(data[i]!), 2 * i);
  return out;
}
