// Reviewing who gets the data key before `rotate`/`updatekeys` re-encrypt it. A file's
// recipient lines are not covered by its MAC (in sops either), so anyone who can write the
// file can add one; the recipients are compared with .sops.yaml and the caller's own keys.

/** The difference in one key group (numbered from 1) between what is and what should be. */
export interface GroupDifference {
  group: number;
  /** Recipients the file has that the reference lacks. */
  onlyInFile: string[];
  /** Recipients the reference has that the file lacks. */
  onlyInReference: string[];
}

/** Per key group, what differs between the file's recipients and a reference (e.g. a .sops.yaml rule); [] when they are the same sets. Pure. */
export function compareRecipients(
  fileGroups: readonly (readonly string[])[],
  referenceGroups: readonly (readonly string[])[],
): GroupDifference[] {
  const differences: GroupDifference[] = [];
  for (let i = 0; i < Math.max(fileGroups.length, referenceGroups.length); i++) {
    const have = new Set(fileGroups[i] ?? []);
    const want = new Set(referenceGroups[i] ?? []);
    const onlyInFile = [...have].filter((r) => !want.has(r));
    const onlyInReference = [...want].filter((r) => !have.has(r));
    if (onlyInFile.length > 0 || onlyInReference.length > 0)
      differences.push({ group: i + 1, onlyInFile, onlyInReference });
  }
  return differences;
}

/**
 * The lines that show `differences` to a person: one per recipient, marked with where it
 * is (`fileLabel` / `referenceLabel`), the caller's own keys marked "(your key)".
 */
export function describeDifferences(
  differences: readonly GroupDifference[],
  labels: { file: string; reference: string },
  ownRecipients: readonly string[],
): string[] {
  const own = new Set(ownRecipients);
  const severalGroups = differences.some((d) => d.group > 1);
  const lines: string[] = [];
  for (const d of differences) {
    const group = severalGroups ? ` (key group ${d.group})` : "";
    const mark = (r: string) => (own.has(r) ? `${r} (your key)` : r);
    for (const r of d.onlyInFile) lines.push(`only in ${labels.file}${group}: ${mark(r)}`);
    for (const r of d.onlyInReference) lines.push(`only in ${labels.reference}${group}: ${mark(r)}`);
  }
  return lines;
}
