/**
 * PNG encoding of 8-bit RGBA / RGB pixels (pngjs, as @genome/gradcam encodes its overlays), and the size readers the
 * CAM overlay needs to embed caller images (PNG IHDR, JPEG SOFn) without decoding them.
 */
import { PNG } from 'pngjs';

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Encodes `width x height` pixels (row-major, `channels` 3 = RGB or 4 = RGBA bytes) as a PNG. */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 3 | 4 = 4): Uint8Array {
  const stride = width * channels;
  if (pixels.length !== stride * height) throw new RangeError(`encodePng: expected ${stride * height} bytes, got ${pixels.length}`);
  const colorType = channels === 4 ? 6 : 2;
  const options = { width, height, colorType, inputColorType: colorType, inputHasAlpha: channels === 4 } as const;
  const png = new PNG(options);
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return new Uint8Array(PNG.sync.write(png, options));
}

/** True when `bytes` start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** True when `bytes` start with a JPEG SOI marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Pixel size of a PNG from its IHDR chunk (undefined when the header is malformed). */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (!isPng(bytes) || bytes.length < 24) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) !== 'IHDR') return undefined;
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Pixel size of a JPEG from its first SOFn frame header (undefined when none is found). */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (!isJpeg(bytes)) return undefined;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (len < 2) return undefined;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > bytes.length) return undefined;
      const height = (bytes[i + 5]! << 8) | bytes[i + 6]!;
      const width = (bytes[i + 7]! << 8) | bytes[i + 8]!;
      return { width, height };
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan data / end before a frame header
    i += 2 + len;
  }
  return undefined;
}

/** `data:` URI of PNG / JPEG bytes. */
export function dataUri(bytes: Uint8Array, mime: 'image/png' | 'image/jpeg' = 'image/png'): string {
  return `data:${mime};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}
