// Converters the routing tests share.
import type { Converter } from "@pesto/pesto";

/**
 * A converter whose parse refuses some text its regex accepts (odd
 * numbers), so that "matched but not converted" is exercised.
 */
export const even: Converter<number> = {
  pattern: "\\d+",
  parse(text) {
    const n = Number(text);
    if (n % 2) throw new RangeError("odd");
    return n;
  },
  format: String,
};
