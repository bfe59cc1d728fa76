export { INTERVALS, type Interval, type Kline } from './api.js';
export { DataError, type DataErrorCode, isDataError } from './errors.js';
export { assertInterval, intervalToMilliseconds, isInterval, nextOpenTime } from './intervals.js';
