/**
 * A real browser for page tests: Debian's Chromium, headless, driven by playwright-core,
 * with a fresh profile and none of Chromium's own network traffic (without those flags
 * its background connections are refused here and it waits on them).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const chromiumPath = "/usr/bin/chromium";

const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running browser with one page; `close` also removes its profile. */
export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Starts Chromium (at `executablePath`) with a fresh profile and a 1280×900 window. */
export async function launchBrowser(executablePath = chromiumPath): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "nixlab-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    args: flags,
    viewport: { width: 1280, height: 900 },
    colorScheme: "light",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * How many distinct colours a PNG has (decoded by the browser itself, in a blank page of
 * `context`): a blank or single-colour screenshot has 1.
 */
export async function distinctColours(context: BrowserContext, png: Buffer): Promise<number> {
  const page = await context.newPage();
  try {
    // A string, so this file needs no DOM types: it runs in the browser.
    const count = await page.evaluate(`(async () => {
      const img = new Image();
      img.src = "data:image/png;base64,${png.toString("base64")}";
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.width;
      canvas.height = img.height;
      const g = canvas.getContext("2d");
      g.drawImage(img, 0, 0);
      const data = g.getImageData(0, 0, img.width, img.height).data;
      const seen = new Set();
      for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return seen.size;
    })()`);
    return count as number;
  } finally {
    await page.close();
  }
}
