import { useEffect, useState } from 'react';

/**
 * The clock (`Date.now()`), re-read every `intervalMs` while `active`: what elapsed times and
 * ETAs tick with between events. Stops ticking when inactive (e.g. once the run finished).
 */
export function useNow(intervalMs: number, active: boolean): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, active]);
  return now;
}
