// Collects issues per (code, table, field): one issue names every row involved, so a refusal reads
// "rule X failed for rows a, b, c" rather than a thousand lines.
import type { ReportIssue } from './types.ts';

const LISTED = 50;

export class IssueCollector {
  private readonly byKey = new Map<string, ReportIssue & { all: string[] }>();

  add(issue: Omit<ReportIssue, 'rows' | 'rowCount'>, row?: string): void {
    const key = `${issue.code}|${issue.table ?? ''}|${issue.field ?? ''}|${issue.rule ?? ''}`;
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = { ...issue, all: [] };
      this.byKey.set(key, entry);
    }
    if (row !== undefined) entry.all.push(row);
  }

  list(): ReportIssue[] {
    return [...this.byKey.values()].map(({ all, ...issue }) =>
      all.length === 0 ? issue : { ...issue, rows: all.slice(0, LISTED), rowCount: all.length },
    );
  }
}

export function hasErrors(issues: ReportIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}
