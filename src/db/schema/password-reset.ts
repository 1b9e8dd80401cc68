import { singleUseTokenTable } from "./single-use-tokens";

export const passwordResetTokens = singleUseTokenTable("password_reset_tokens");
