import { type BinanceFillEvent, type Interval, intervalToMilliseconds } from '@crypto-anomaly/data';
import { formatCount, formatDuration } from './format.js';
import type { Reporter } from './reporter-api.js';

/**
 * Renders the events of a Binance fill (the data package's `binanceSource`) as the archive and
 * fetch lines and the download progress: the same for `fetch` and `--source binance`.
 */
export function renderFill(reporter: Reporter): (event: BinanceFillEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'archive-start':
        reporter.line(`archive: loading ${event.symbol} ${event.interval} files from ${event.baseUrl}`);
        return;
      case 'archive-file': {
        const progress = event.progress;
        const count = `${progress.files}/${progress.filesTotal}`;
        if (progress.status === 'loaded') {
          const unit = progress.timestampUnit === 'microseconds' ? ', µs timestamps' : '';
          reporter.line(
            `archive: ${progress.file} loaded (${count}, ${formatCount(progress.rows)} rows so far${unit})`,
          );
        } else if (progress.status === 'missing') {
          reporter.line(
            `archive: ${progress.file} is not published (${count}); the REST API fills that span`,
          );
        } else if (progress.status === 'waiting') {
          reporter.line(
            `archive: asking the REST API where the candles start, for ${progress.file}: ${progress.message ?? 'waiting'}`,
          );
        } else {
          reporter.line(
            `archive: retrying ${progress.file}${progress.message ? `: ${progress.message}` : ''}`,
          );
        }
        return;
      }
      case 'archive-done': {
        const { rows, files, missingFiles } = event.result;
        reporter.line(
          `archive: ${formatCount(rows)} rows from ${files} files` +
            (missingFiles.length > 0 ? `, ${missingFiles.length} not published` : ''),
        );
        return;
      }
      case 'fetch-start':
        reporter.fetchStarted();
        return;
      case 'fetch-progress':
        reporter.fetchProgress(event.progress);
        return;
      case 'filled': {
        const { fetch, elapsedMs } = event.result;
        reporter.fetchDone();
        reporter.line(
          `fetch: ${formatCount(fetch.rows)} new rows in ${fetch.pages} pages (${fetch.requests} requests, ` +
            `${fetch.retries} retries, ${fetch.rateLimitWaits} rate-limit waits) in ${formatDuration(elapsedMs)}`,
        );
        for (const line of unservedLines(fetch.interval, fetch.unserved ?? [])) reporter.line(line);
        return;
      }
      case 'gave-up': {
        // Says when the give-up is hit, in the user's terms (the error names what was left).
        const limit =
          event.giveUpAfterMs !== undefined
            ? ` (the limit for the whole fetch, archive included, is ${formatDuration(event.giveUpAfterMs)})`
            : '';
        reporter.line(`fetch: gave up after ${formatDuration(event.elapsedMs)}${limit}`);
        return;
      }
    }
  };
}

/**
 * The spans of a fetch the exchange served nothing for (asked twice), one warning line each: the
 * candles stay missing, and the next fetch asks for them again.
 */
export function unservedLines(
  interval: Interval,
  unserved: readonly { start: number; end: number }[],
): string[] {
  const at = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  return unserved.map(({ start, end }) => {
    const candles = Math.ceil((end - start) / intervalToMilliseconds(interval));
    return (
      `fetch: warning: the exchange served no candle from ${at(start)} to ${at(end)} UTC (about ` +
      `${formatCount(candles)}), asked twice: a pair that stopped trading, or a failing server; ` +
      'they stay missing, and the next fetch asks for them again'
    );
  });
}
