// The scenarios register themselves on import; scripts/e2e.mjs runs them against a live server.
import './auth-flow.e2e.ts';
import './tabs.e2e.ts';
import './sessions.e2e.ts';
import './renewal.e2e.ts';
import './footprint.e2e.ts';
import './password-policy.e2e.ts';
import './second-factor.e2e.ts';
import './passkeys.e2e.ts';

export { runScenarios } from './harness.ts';
