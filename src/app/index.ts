export {
  defineApp,
  isCadreApp,
  type AgentDefinition,
  type AgentSettings,
  type AppContext,
  type AppDefinition,
  type CadreApp,
  type TeamDefinition,
  type TeamSettings,
} from './define-app.js';
export { defaultAppFiles, loadApp, withBuiltins, type LoadAppOptions } from './load-app.js';
export {
  hasEntry,
  resumeNamed,
  runNamed,
  type ResumeNamedOptions,
  type RunBudget,
  type RunNamedOptions,
} from './run-named.js';
