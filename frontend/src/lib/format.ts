// Display helpers. Decimals are shown as the server wrote them (its text already has the
// instrument's precision); times in the browser's time zone.

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

export function formatTime(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  return Number.isNaN(ms) ? rfc3339 : timeFormat.format(ms);
}

export function formatDateTime(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  return Number.isNaN(ms) ? rfc3339 : dateTimeFormat.format(ms);
}

export function orderTypeLabel(type: string): string {
  switch (type) {
    case 'limit':
      return 'Limit';
    case 'market':
      return 'Market';
    case 'stop':
      return 'Stop';
    case 'stopLimit':
      return 'Stop limit';
    default:
      return type;
  }
}

/** "PARTIALLY_FILLED" → "Partially filled". */
export function statusLabel(status: string): string {
  const words = status.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
