/** PNG and JPEG decoding to RGBA with maintained pure-JS libraries (pngjs, jpeg-js). */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { GradCamError } from '../errors.js';

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  readonly data: Uint8Array;
}

/** Largest accepted image, in pixels (guards against decompression bombs). */
export const MAX_PIXELS = 50_000_000;

/** Decodes PNG or JPEG bytes (sniffed from the signature) to RGBA. Throws INVALID_INPUT on anything else. */
export function decodeImage(bytes: Uint8Array): RgbaImage {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw new GradCamError('INVALID_INPUT', 'Expected the bytes of a PNG or JPEG image.');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      const png = PNG.sync.read(buf);
      if (png.width * png.height > MAX_PIXELS) throw new GradCamError('INVALID_INPUT', `Image of ${png.width}x${png.height} is larger than ${MAX_PIXELS} pixels.`);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, data: img.data as Uint8Array };
    }
  } catch (err) {
    if (err instanceof GradCamError) throw err;
    throw new GradCamError('INVALID_INPUT', `Could not decode the image: ${(err as Error).message}`, { cause: err });
  }
  throw new GradCamError('INVALID_INPUT', 'Unsupported image format: pass PNG or JPEG bytes.');
}

/** Encodes RGBA pixels as PNG bytes. */
export function encodePng(img: RgbaImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}
