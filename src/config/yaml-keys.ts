/**
 * Duplicate mapping keys in a parsed YAML document, found in linear time. The yaml
 * library's own check (`uniqueKeys: true`) compares each key with every earlier one of
 * its map: 200,000 VPN users took minutes to parse.
 */
import { type Document, isMap, isScalar, visit } from "yaml";

/** One duplicate key: where it starts (offset into the source) and the library's message. */
export interface DuplicateKey {
  offset: number;
  message: string;
}

/**
 * Every key that repeats an earlier scalar key of the same map, as `uniqueKeys: true`
 * reports them (scalars equal by value; other keys never equal). Parse with
 * `uniqueKeys: false` and call this instead.
 */
export function duplicateKeys(doc: Document.Parsed): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) found.push({ offset: key.range?.[0] ?? 0, message: "Map keys must be unique" });
        else seen.add(key.value);
      }
    },
  });
  return found;
}
