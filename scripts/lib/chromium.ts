import { chromium, type Browser } from "playwright-core";

/**
 * Debian's Chromium (`apt-get install chromium`), driven by playwright-core, which never
 * downloads a browser. CHROMIUM_PATH overrides the location.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    // Containers run as root without user namespaces: Chromium's sandbox cannot start there.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}
