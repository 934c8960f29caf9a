import { z } from 'zod';
import { loginPasswordSchema } from './credentials.ts';

/** Longest code accepted for checking; anything shorter that is not a code is simply a wrong one. */
export const MFA_CODE_MAX_LENGTH = 1024;

/**
 * A second-factor code as sent: a 6-digit TOTP code or a recovery code (any case, any grouping).
 * Deliberately loose: a malformed code is answered like a wrong one (`Invalid authentication code`).
 */
export const mfaCodeSchema = z.string().max(MFA_CODE_MAX_LENGTH, 'Code is too long');

export const mfaVerifyInputSchema = z.object({
  mfaToken: z.string().max(512, 'Sign-in expired, please start again'),
  code: mfaCodeSchema,
});

export const totpSetupInputSchema = z.object({ password: loginPasswordSchema });
export const totpEnableInputSchema = z.object({ code: mfaCodeSchema });
/** `mfa.totp.disable` and `mfa.recoveryCodes.regenerate`: the password and a code. */
export const mfaStepUpInputSchema = z.object({
  password: loginPasswordSchema,
  code: mfaCodeSchema,
});

/** What the SPA's code forms check before sending: something was typed. */
export const mfaCodeFormSchema = z.object({
  code: z.string().trim().min(1, 'Enter the code'),
});
