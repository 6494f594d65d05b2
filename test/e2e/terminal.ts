/**
 * Just enough of a terminal to see what a user would see: printable characters with
 * line wrap at `cols` (deferred, as terminals do), newline, carriage return, cursor to
 * the start of a previous line (ESC[nF), erase line (ESC[2K), erase below (ESC[J);
 * colours and other sequences are ignored. Returns the screen's rows.
 */
export function renderScreen(raw: string, cols: number): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let pendingWrap = false;
  const line = (r: number) => {
    while (rows.length <= r) rows.push([]);
    return rows[r]!;
  };
  for (let i = 0; i < raw.length; ) {
    const ch = raw[i]!;
    if (ch === "\u001b") {
      // CSI: ESC "[" parameters final-letter.
      const m = /^\[([?\d;]*)([A-Za-z])/.exec(raw.slice(i + 1, i + 16));
      i += m ? m[0].length + 1 : 1;
      if (!m) continue;
      const n = Number(m[1]) || 1;
      if (m[2] === "F") {
        row = Math.max(0, row - n);
        col = 0;
      } else if (m[2] === "K") rows[row] = [];
      else if (m[2] === "J") {
        line(row).length = col;
        rows.length = row + 1;
      }
      pendingWrap = false;
      continue;
    }
    i += ch.length;
    if (ch === "\n") {
      row++;
      line(row);
      pendingWrap = false;
      continue;
    }
    if (ch === "\r") {
      col = 0;
      pendingWrap = false;
      continue;
    }
    const cp = String.fromCodePoint(raw.codePointAt(i - 1)!);
    if (cp.length === 2) i++;
    if (pendingWrap) {
      row++;
      col = 0;
      pendingWrap = false;
    }
    const l = line(row);
    while (l.length < col) l.push(" ");
    l[col] = cp;
    if (col === cols - 1) pendingWrap = true;
    else col++;
  }
  return rows.map((r) => r.join(""));
}
