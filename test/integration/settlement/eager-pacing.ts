import type { Pacing } from "../../../src/domain/settlement/sent-pages";

/** Every page sent at once while there is room: the most pages out behind one that may not settle. */
export const eagerPacing: Pacing = { due: () => 0, sent: () => {}, answered: () => {} };
