// Tiny XML writer for Query-protocol answers: elements with escaped text, nested elements and lists.
// Absent values (undefined) produce no element, as AWS omits unset fields.

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : c === '"' ? "&quot;" : "&apos;",
  );
}

/** `<name>text</name>`, or nothing when the value is undefined. */
export function leaf(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? "" : `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name>…children…</name>` with already-rendered children. */
export function node(name: string, ...children: string[]): string {
  return `<${name}>${children.join("")}</${name}>`;
}

/** A list: `<name><item>…</item>…</name>`; Auto Scaling names items `member`, EC2 names them `item`. */
export function list(name: string, itemName: "member" | "item", items: readonly string[]): string {
  return node(name, ...items.map((item) => node(itemName, item)));
}

/** AWS's timestamp format in XML answers. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
