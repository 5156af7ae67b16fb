// Owns running axe-core (the npm package, served from node_modules, nothing from a CDN) inside a
// playwright page. Used by pages.test.mjs: every page must come out with no violation.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');

// Injects axe and runs it on the whole document (WCAG 2 A/AA and best practices). Returns the
// violations, each reduced to what a failure message needs: rule, impact, nodes' selectors.
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ path: AXE_PATH });
  }
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`.slice(0, 300)),
  }));
}
