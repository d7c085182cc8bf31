// Values an attacker or a broken producer puts where the control plane expects something sane:
// injection strings (shell, SQL, path traversal, format strings, CRLF, unicode tricks, NUL), strings
// of 1 MB and more, structures nested thousands deep, and values of every wrong JSON type.
import fc from "fast-check";

const INJECTIONS = [
  // shell
  "$(reboot)",
  "`id`",
  "; rm -rf / #",
  "| nc 127.0.0.1 4444",
  "&& curl http://169.254.169.254/latest/meta-data/",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the payload
  "${IFS}cat${IFS}/etc/passwd",
  // SQL and NoSQL
  "' OR '1'='1",
  "'; DROP TABLE ledger; --",
  '" OR ""="',
  '{"$ne": null}',
  "attribute_not_exists(pk) OR #sk = :sk",
  // path traversal
  "../../../../etc/passwd",
  "..%2f..%2f..%2fetc%2fpasswd",
  "..\\..\\windows\\win.ini",
  "/v1/nodes/../../admin",
  // format strings
  "%s%s%s%s%n",
  "%x%x%x%x",
  "{0}{1}{__proto__}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal lookup expression is the payload
  "${jndi:ldap://127.0.0.1/a}",
  "{{7*7}}",
  // CRLF and control characters
  "value\r\nX-Injected: 1",
  "line\nETCD_NAME=evil",
  'a"\nETCD_INITIAL_CLUSTER="evil=http://127.0.0.2:2380',
  "\u0000",
  "i-0123456789abcdef0\u0000",
  "\u001b[31mred\u001b[0m",
  // unicode tricks
  "i‐0123456789abcdef0",
  "ｉ-０１２３４５６７８９ａｂｃｄｅｆ０",
  "i-0123456789abcdef0\u200b",
  "\u202eevil",
  "\ud800",
  "💥🔥🧨",
  "İı",
  // JSON and prototype tricks
  "__proto__",
  "constructor",
  "null",
  "undefined",
  "NaN",
  "",
  " ",
] as const;

export function injectionString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...INJECTIONS) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  );
}

/** 1 MB to 2 MB of a repeated piece: cheap to build, and far beyond any limit the control plane has. */
export function hugeString(): fc.Arbitrary<string> {
  return fc
    .record({
      bytes: fc.integer({ min: 1 << 20, max: 2 << 20 }),
      piece: fc.constantFrom("A", "i-0123456789abcdef0", "../", "\u0000", "💥", "'; DROP TABLE ledger; --"),
    })
    .map(({ bytes, piece }) => piece.repeat(Math.ceil(bytes / piece.length)));
}

/** Objects or arrays nested 1,000 to 20,000 deep, built without recursion. */
export function deepNesting(): fc.Arbitrary<unknown> {
  return fc
    .record({ depth: fc.integer({ min: 1000, max: 20_000 }), arrays: fc.boolean() })
    .map(({ depth, arrays }) => {
      let value: unknown = "bottom";
      for (let i = 0; i < depth; i++) value = arrays ? [value] : { nested: value };
      return value;
    });
}

/** A value of some JSON type other than string (or no value at all). */
export function notAString(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(null, undefined, true, false, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
    fc.integer(),
    fc.constant([]),
    fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }),
    fc.constant({}),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  );
}

/** A value of some JSON type other than object. */
export function notAnObject(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(null, undefined, true, 0, "", "{}", "[object Object]"),
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.array(fc.integer(), { maxLength: 3 }),
  );
}

/** Extra properties, with names that trip naive code (`__proto__` as an own property, as JSON.parse makes it). */
export function extraProperties(): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.oneof(
    fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "$where", "pk"),
    fc.string({ minLength: 1, maxLength: 20 }),
  );
  const value = fc.oneof(
    injectionString(),
    fc.integer(),
    fc.constant(null),
    fc.constant({ polluted: true }),
    fc.constant(["x"]),
  );
  // Object.fromEntries defines own properties, as JSON.parse does: `__proto__` stays a plain key.
  return fc
    .array(fc.tuple(key, value), { minLength: 1, maxLength: 4 })
    .map((entries) => Object.fromEntries(entries));
}
