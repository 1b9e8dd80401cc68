// Run before `npm test` (and by `npm run dev` itself): installs the local stack's system
// programs as root with apt-get, or prints the command to run and exits 1.
import { ensureSystemPrograms, thisSystem } from "./lib/system-packages";

if (!ensureSystemPrograms(thisSystem((line) => console.error(`[setup] ${line}`)))) process.exit(1);
