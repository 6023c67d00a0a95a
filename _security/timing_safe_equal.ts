// A comparison of secrets whose time does not tell how much of a guess was
// right: `security.ts` compares CSRF tokens with it.

/**
 * Whether `given` (what a client sent) equals `expected` (the secret). Every
 * UTF-16 code unit of `expected` is compared, whatever the first difference,
 * so the time taken depends only on the length of `expected` (which is
 * public: tokens have a fixed length), never on how many leading characters
 * of a guess were right. A `given` of another length is never equal and
 * takes the same time as any other guess.
 *
 * @param given The value to check.
 * @param expected The secret.
 * @returns Whether they are the same string.
 */
export function timingSafeEqual(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    // Past the end of `given`, charCodeAt gives NaN, which `| 0` makes 0:
    // the lengths differ already, so `diff` is not 0.
    diff |= (given.charCodeAt(i) | 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}
