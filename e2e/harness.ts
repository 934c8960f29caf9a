import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export interface ScenarioContext {
  baseUrl: string;
  /** A fresh browser profile (own cookies); closed when the scenario ends. */
  newContext: () => Promise<BrowserContext>;
  /** A page in a fresh browser context. */
  newPage: () => Promise<Page>;
}

interface Scenario {
  name: string;
  run(context: ScenarioContext): Promise<void>;
}

const scenarios: Scenario[] = [];

export function scenario(name: string, run: (context: ScenarioContext) => Promise<void>): void {
  scenarios.push({ name, run });
}

export interface RunOptions {
  browser: Browser;
  baseUrl: string;
  /** Only scenarios whose name contains one of these run. */
  filters: string[];
  /** Where screenshots of failed scenarios go. */
  artifactsDir: string;
  timeoutMs?: number;
}

export interface ScenarioResult {
  name: string;
  ok: boolean;
  durationMs: number;
  error?: string;
}

function watchPage(page: Page, problems: string[]): void {
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A blocked script or style means the app breaks under the server's CSP.
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) {
      problems.push(`CSP violation: ${message.text()}`);
    }
  });
}

async function runOne(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const newContext = async () => {
    const context = await options.browser.newContext();
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(15_000);
    context.on('page', (page) => watchPage(page, problems));
    contexts.push(context);
    return context;
  };
  const context: ScenarioContext = {
    baseUrl: options.baseUrl,
    newContext,
    newPage: async () => (await newContext()).newPage(),
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${options.timeoutMs ?? 60_000} ms`)),
        options.timeoutMs ?? 60_000,
      );
    });
    await Promise.race([scenario.run(context), timeout]);
    if (problems.length > 0) throw new Error(problems.join('\n'));
    return { name: scenario.name, ok: true, durationMs: Date.now() - started };
  } catch (error) {
    await saveScreenshots(scenario.name, contexts, options.artifactsDir);
    const message = error instanceof Error ? error.message : String(error);
    return { name: scenario.name, ok: false, durationMs: Date.now() - started, error: message };
  } finally {
    clearTimeout(timer);
    await Promise.allSettled(contexts.map((c) => c.close()));
  }
}

async function saveScreenshots(name: string, contexts: BrowserContext[], dir: string) {
  mkdirSync(dir, { recursive: true });
  const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  const pages = contexts.flatMap((c) => c.pages());
  await Promise.allSettled(
    pages.map((page, i) => page.screenshot({ path: join(dir, `${slug}-${i}.png`), timeout: 5000 })),
  );
}

/** Runs the registered scenarios one after another, reporting each as it finishes. */
export async function runScenarios(options: RunOptions): Promise<ScenarioResult[]> {
  const selected = scenarios.filter(
    (s) => options.filters.length === 0 || options.filters.some((f) => s.name.includes(f)),
  );
  const results: ScenarioResult[] = [];
  for (const s of selected) {
    const result = await runOne(s, options);
    results.push(result);
    const mark = result.ok ? 'ok  ' : 'FAIL';
    console.log(`${mark} ${s.name} (${(result.durationMs / 1000).toFixed(1)} s)`);
    if (result.error) console.log(`     ${result.error.replace(/\n/g, '\n     ')}`);
  }
  return results;
}
