// Code → label through the contract registry's national code tables (the 学籍 template wants labels).
import type { ContractRegistry } from '../../../core/contracts/types.ts';

export class Labeller {
  private readonly cache = new Map<string, Map<string, string | undefined>>();
  constructor(private readonly contracts: ContractRegistry) {}

  /** Label of `code` in `table`; undefined when the table does not know the code. */
  label(table: string, code: string | undefined): string | undefined {
    if (code === undefined) return undefined;
    let byCode = this.cache.get(table);
    if (!byCode) {
      byCode = new Map();
      this.cache.set(table, byCode);
    }
    if (!byCode.has(code)) byCode.set(code, this.contracts.codeTable(table).get(code)?.label);
    return byCode.get(code);
  }

  has(table: string, code: string): boolean {
    return this.contracts.codeTable(table).get(code) !== undefined;
  }
}
