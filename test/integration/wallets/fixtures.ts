import { env } from "cloudflare:workers";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import { users } from "../../../src/db/schema";
import { EXTERNAL_DEPOSITS, postJournalEntry, userAvailable } from "../../../src/domain/ledger/ledger";

/** A user row straight in the database (no password login needed for service-level tests). */
export async function createTestUser(
  options: { kyc?: "pending" | "verified" | "rejected"; role?: "user" | "admin" } = {},
): Promise<string> {
  const [row] = await withDatabase(env, (db) =>
    db
      .insert(users)
      .values({
        email: `wallet-${crypto.randomUUID()}@pandora.test`,
        firstName: "Test",
        lastName: "User",
        passwordHash: "not-a-real-hash",
        role: options.role ?? "user",
        kycStatus: options.kyc ?? "verified",
        emailVerifiedAt: new Date(),
      })
      .returning({ id: users.id }),
  );
  return row!.id;
}

/** Credits a user from the outside world, as a confirmed deposit would. */
export function fund(db: DbExecutor, userId: string, asset: string, amount: bigint) {
  return postJournalEntry(db, {
    type: "test.funding",
    reference: crypto.randomUUID(),
    postings: [
      { account: EXTERNAL_DEPOSITS, asset, amount: -amount },
      { account: userAvailable(userId), asset, amount },
    ],
  });
}
