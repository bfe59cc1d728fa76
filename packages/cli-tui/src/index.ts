export type {
  DashboardAction,
  DashboardState,
  EpochPoint,
  FetchProgress,
  PaneName,
  RunOutcome,
  StageState,
  TrainingState,
} from './api.js';
export { type ConfigFile, configFileSchema, loadConfig, parseConfig } from './config.js';
export { dashboardReducer, initialDashboardState } from './dashboard-reducer.js';
export { CliError, type CliErrorCode, isCliError } from './errors.js';
export { ExitCode } from './exit-codes.js';
export {
  formatCompact,
  formatCount,
  formatDuration,
  formatEta,
  formatNumber,
  formatRate,
} from './format.js';
export { type ChartSeries, type LineChart, type LineChartOptions, renderLineChart } from './line-chart.js';
export { describeEvent, PlainLogger, type PlainLoggerOptions } from './plain-logger.js';
export { type CommandContext, createProgram, main } from './program.js';
export { VERSION } from './version.js';
