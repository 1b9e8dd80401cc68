import type { HubStream } from "./hub-sockets";

/** Header of the upgrade the Worker forwards: JSON `HubUpgrade` (set by the Worker, never a client). */
export const HUB_UPGRADE_HEADER = "X-Pandora-Stream-Hub";

export interface HubUpgrade {
  /** The hub's name, which the markets it attaches to call back. */
  hub: string;
  combined: boolean;
  /** The streams of the URL, already checked and resolved by the Worker. */
  streams: HubStream[];
}
