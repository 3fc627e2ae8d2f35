/**
 * Encoded images (PNG / JPEG bytes) -> the model's input tensor, with @genome/gradcam's decoder and the model
 * package's image preprocessing block (`input.image`: size, channels, layout, channel order, scale, mean, std,
 * resize), so clients send files and the server normalises them exactly as the package declares.
 */
import { decodeImage, preprocessImages, type RgbaImage } from '@genome/gradcam';
import { SidecarError } from '../errors.js';
import type { ImageData } from '../methods/types.js';
import type { ModelDescription } from '../models/types.js';

/** Decodes and preprocesses `images` into one batch for `model`. */
export function decodeEncodedImages(images: readonly Uint8Array[], model: ModelDescription): ImageData {
  const p = model.imagePreprocessing;
  if (!p) {
    throw new SidecarError(
      'METHOD_NOT_APPLICABLE',
      `model "${model.name}" declares no image preprocessing, so encoded images cannot be turned into its input: serve it as a Genome package with input.image (width, height, channels, layout, scale, mean, std), or send image.tensor`,
    );
  }
  const decoded: RgbaImage[] = images.map((bytes, i) => {
    if (bytes.length === 0) throw new SidecarError('INVALID_REQUEST', `image ${i}: the encoded bytes are empty`);
    try {
      return decodeImage(bytes);
    } catch (err) {
      throw new SidecarError('INVALID_REQUEST', `image ${i} is not a decodable PNG or JPEG: ${(err as Error).message}`, { cause: err });
    }
  });
  const pixels = preprocessImages(decoded, p);
  const shape = p.layout === 'NCHW' ? [images.length, p.channels, p.height, p.width] : [images.length, p.height, p.width, p.channels];
  return { kind: 'image', pixels, shape, layout: p.layout };
}
