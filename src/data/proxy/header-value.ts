// Anything outside printable ASCII (and `%` itself, so decoding is exact).
const unsafe = /[^\x20-\x24\x26-\x7e]/;
const unsafeEach = /[^\x20-\x24\x26-\x7e]/gu;

/**
 * A value that is safe to write in a response header. Node throws on a
 * header value with a newline or a character above U+00FF, and model ids,
 * server names and reasons come from model servers and operators: such a
 * value is percent-encoded as UTF-8 (`decodeURIComponent` gives it back)
 * rather than failing the request. Printable ASCII, nearly every value,
 * passes through untouched after one regular-expression test.
 */
export function headerValue(value: string): string {
  return unsafe.test(value) ? value.replace(unsafeEach, encodeCharacter) : value;
}

function encodeCharacter(character: string): string {
  // A lone surrogate is not valid UTF-8: encodeURIComponent would throw.
  return character.length === 1 && character >= '\ud800' && character <= '\udfff' ? '%EF%BF%BD' : encodeURIComponent(character);
}
