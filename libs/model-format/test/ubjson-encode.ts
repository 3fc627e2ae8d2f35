/** A small UBJSON encoder for tests (XGBoost-style: typed float32/int32 arrays, length-prefixed keys). */
export function encodeUbjson(v: unknown): Uint8Array {
  const out: number[] = [];
  const dv = new DataView(new ArrayBuffer(8));
  const int = (n: number) => {
    if (n >= 0 && n < 256) out.push(0x55, n);
    else {
      dv.setInt32(0, n);
      out.push(0x6c, dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
    }
  };
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    int(b.length);
    out.push(...b);
  };
  const f32 = (x: number) => {
    dv.setFloat32(0, x);
    out.push(dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
  };
  const enc = (x: unknown): void => {
    if (x === null) out.push(0x5a);
    else if (typeof x === 'boolean') out.push(x ? 0x54 : 0x46);
    else if (typeof x === 'number') {
      if (Number.isInteger(x) && Math.abs(x) < 2 ** 31) int(x);
      else {
        out.push(0x64);
        f32(x);
      }
    } else if (typeof x === 'string') {
      out.push(0x53);
      str(x);
    } else if (Array.isArray(x)) {
      const numeric = x.length > 0 && x.every((e) => typeof e === 'number' || e === null);
      if (numeric && x.some((e) => e === null || !Number.isInteger(e))) {
        out.push(0x5b, 0x24, 0x64, 0x23);
        int(x.length);
        for (const e of x) f32(e === null ? Number.NaN : (e as number));
      } else if (numeric) {
        out.push(0x5b, 0x24, 0x6c, 0x23);
        int(x.length);
        for (const e of x) {
          dv.setInt32(0, e as number);
          out.push(dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
        }
      } else {
        out.push(0x5b);
        for (const e of x) enc(e);
        out.push(0x5d);
      }
    } else if (typeof x === 'object') {
      out.push(0x7b);
      for (const [k, e] of Object.entries(x as object)) {
        str(k);
        enc(e);
      }
      out.push(0x7d);
    }
  };
  enc(v);
  return Uint8Array.from(out);
}
