// Public surface of the contract registry.
export type * from './types.ts';
export {
  loadContracts,
  getSharedRegistry,
  getSharedAjv,
  ajvOf,
  createContractAjv,
  addAndCompileSchemaFiles,
  mapAjvErrors,
  defaultContractsDir,
  type LoadContractsOptions,
} from './registry.ts';
export { loadCodeTables, defaultCodeTables, crosswalkCode, AreaCodeTable, SimpleCodeTable, type CodeTableSet } from './code-tables.ts';
export { checkIdNumber, computeCheckDigit, type IdNumberResult, type IdNumberErrorCode, type CheckIdNumberOptions } from './id-number.ts';
export { checkCompatibility, checkContracts, newestRelease, type CompatBreak, type CompatResult, type ContractsCheckResult } from './compat.ts';
export { isRfc3339DateTime, hasLoneSurrogate, PII_CLASSES } from './keywords.ts';
