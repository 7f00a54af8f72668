import { useEffect, useRef } from 'react';

export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/** Draws raw RGBA pixels (engine output) at their own resolution; CSS scales the canvas, to `displayWidth`
 * CSS pixels when given. */
export function RgbaCanvas({
  image,
  label,
  className,
  displayWidth,
}: {
  image: RgbaImage;
  label: string;
  className?: string;
  displayWidth?: number;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    canvas.width = image.width;
    canvas.height = image.height;
    // ImageData refuses views on a SharedArrayBuffer or with a mismatched length, so copy.
    const pixels = new Uint8ClampedArray(image.width * image.height * 4);
    pixels.set(image.rgba.subarray(0, pixels.length));
    ctx.putImageData(new ImageData(pixels, image.width, image.height), 0, 0);
  }, [image]);
  return (
    <canvas
      ref={ref}
      role="img"
      aria-label={label}
      className={className}
      width={image.width}
      height={image.height}
      style={displayWidth === undefined ? undefined : { width: `${displayWidth}px` }}
    />
  );
}
