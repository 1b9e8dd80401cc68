/** A Neon pooled host: its first label ends in `-pooler` (the direct host's does not). */
export function isPoolerUrl(url: string): boolean {
  try {
    return /^[^.]+-pooler\./i.test(new URL(url).hostname);
  } catch {
    return false;
  }
}
