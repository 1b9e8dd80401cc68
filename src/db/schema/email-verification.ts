import { singleUseTokenTable } from "./single-use-tokens";

export const emailVerificationTokens = singleUseTokenTable("email_verification_tokens");
