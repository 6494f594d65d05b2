/** The per-object outcome of a deploy (or of a diff), printed at the end and available as JSON. */
import type { ObjectRef } from "./objects.ts";
import { refKey } from "./objects.ts";

/** What happened to one object in a run. */
export type ChangeAction = "created" | "configured" | "unchanged" | "deleted" | "failed" | "skipped";

/** One object's outcome. */
export interface ChangeEntry {
  /** "Kind/namespace/name". */
  object: string;
  ref: ObjectRef;
  group: string;
  action: ChangeAction;
  /** Why it failed or was skipped, or a note such as "recreated: immutable Job template". */
  message?: string;
}

/** The per-object outcomes of a run, in the order they happened; `sorted()` for output. */
export class ChangeSet {
  readonly entries: ChangeEntry[] = [];

  add(ref: ObjectRef, group: string, action: ChangeAction, message?: string): ChangeEntry {
    const entry: ChangeEntry = { object: refKey(ref), ref, group, action };
    if (message) entry.message = message;
    this.entries.push(entry);
    return entry;
  }

  counts(): Record<ChangeAction, number> {
    const out: Record<ChangeAction, number> = {
      created: 0,
      configured: 0,
      unchanged: 0,
      deleted: 0,
      failed: 0,
      skipped: 0,
    };
    for (const e of this.entries) out[e.action]++;
    return out;
  }

  /** Entries sorted by group, then object, for stable output. */
  sorted(): ChangeEntry[] {
    return [...this.entries].sort((a, b) =>
      a.group === b.group ? (a.object < b.object ? -1 : a.object > b.object ? 1 : 0) : a.group < b.group ? -1 : 1,
    );
  }
}
