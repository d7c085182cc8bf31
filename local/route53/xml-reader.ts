// Reads the small XML documents Route 53 requests carry (CreateHostedZoneRequest,
// ChangeResourceRecordSetsRequest) into a tree of elements: names without namespace prefixes, text
// with entities decoded. Enough for well-formed REST-XML request bodies; anything else is a
// MalformedXmlError, which the server answers as Route 53 does (InvalidInput).

export interface XmlElement {
  readonly name: string;
  readonly children: readonly XmlElement[];
  /** The element's own text (trimmed), entities decoded. */
  readonly text: string;
}

export class MalformedXmlError extends Error {
  override readonly name = "MalformedXmlError";
}

const ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** The document's root element. */
export function parseXml(source: string): XmlElement {
  let position = 0;
  const fail = (what: string): never => {
    throw new MalformedXmlError(`${what} at offset ${position}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (/\s/.test(source[position] ?? "")) position++;
      if (source.startsWith("<?", position) || source.startsWith("<!--", position)) {
        const end = source.indexOf(source.startsWith("<?", position) ? "?>" : "-->", position);
        if (end < 0) fail("unterminated declaration or comment");
        position = end + (source.startsWith("<?", position) ? 2 : 3);
      } else {
        return;
      }
    }
  };
  const element = (): XmlElement => {
    const open = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(
      source.slice(position),
    );
    if (!open) return fail("expected a start tag");
    position += open[0].length;
    const name = localName(open[1] as string);
    if (open[3] === "/") return { name, children: [], text: "" };
    const children: XmlElement[] = [];
    let text = "";
    for (;;) {
      const next = source.indexOf("<", position);
      if (next < 0) fail(`unterminated element <${name}>`);
      text += source.slice(position, next);
      position = next;
      if (source.startsWith("<!--", position)) {
        skipMisc();
      } else if (source.startsWith("<![CDATA[", position)) {
        const end = source.indexOf("]]>", position);
        if (end < 0) fail("unterminated CDATA");
        text += source
          .slice(position + 9, end)
          .replace(/&/g, "&amp;")
          .replace(/</g, "&lt;");
        position = end + 3;
      } else if (source.startsWith("</", position)) {
        const close = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(source.slice(position));
        if (!close || localName(close[1] as string) !== name) fail(`expected </${name}>`);
        position += (close as RegExpExecArray)[0].length;
        return { name, children, text: decodeEntities(text.trim(), fail) };
      } else {
        children.push(element());
      }
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (position !== source.length) fail("content after the root element");
  return root;
}

/** The first child named `name`, if any. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

/** Every child named `name`. */
export function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element?.children.filter((c) => c.name === name) ?? [];
}

/** The text of the first child named `name`, or undefined when there is none. */
export function childText(element: XmlElement | undefined, name: string): string | undefined {
  return child(element, name)?.text;
}

function localName(qualified: string): string {
  return qualified.slice(qualified.indexOf(":") + 1);
}

function decodeEntities(text: string, fail: (what: string) => never): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);?/g, (match, entity: string) => {
    if (!match.endsWith(";")) return fail(`bare & in text`);
    if (entity.startsWith("#x")) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    const decoded = ENTITIES[entity];
    return decoded ?? fail(`unknown entity &${entity};`);
  });
}
