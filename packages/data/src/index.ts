export {
  type AnomalyKind,
  type AnomalyLabel,
  INTERVALS,
  type Interval,
  type Kline,
  type KlineSource,
} from './api.js';
export { DataError, type DataErrorCode, isDataError } from './errors.js';
export { assertInterval, intervalToMilliseconds, isInterval, nextOpenTime } from './intervals.js';
