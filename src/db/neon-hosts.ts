/** A Neon host without `-pooler` in its first label: the direct host of a pooled one (others as they are). */
export function directHostname(hostname: string): string {
  return hostname.toLowerCase().replace(/^([^.]+)-pooler\./, "$1.");
}

/** A Neon pooled host: its first label ends in `-pooler` (the direct host's does not). */
export function isPoolerUrl(url: string): boolean {
  try {
    const { hostname } = new URL(url);
    return directHostname(hostname) !== hostname.toLowerCase();
  } catch {
    return false;
  }
}
