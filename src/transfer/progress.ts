/**
 * A progress display on stderr: keys done of an estimate, the rate, and an ETA. On a terminal it
 * redraws one line in place (`\r`, at most every 100 ms); otherwise (a file, a pipe, CI) it prints a
 * plain line every few seconds, and always a last line when the work ends.
 */

/** stderr, or anything that stands in for it */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface ProgressOptions {
  /** e.g. "export", "import" */
  label: string;
  /** where to draw; process.stderr by default */
  stream?: ProgressStream;
  /** false prints nothing */
  enabled?: boolean;
  /** between plain lines when the stream is not a terminal (default 2000 ms) */
  lineIntervalMs?: number;
}

const fmt = new Intl.NumberFormat('en-US');

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly enabled: boolean;
  private readonly interval: number;
  private readonly started = performance.now();
  private last = 0;
  private drawn = false;
  private done = 0;
  private total = 0;
  /** 0..1 when the caller knows the share of the input read (file bytes); -1 otherwise */
  private fraction = -1;
  private note = '';

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    this.enabled = options.enabled !== false;
    this.interval = this.tty ? 100 : (options.lineIntervalMs ?? 2000);
  }

  /** the estimated total (0 = unknown) */
  setTotal(total: number): void {
    this.total = total;
  }

  /** extra text at the end of the line, e.g. "12 skipped" */
  setNote(note: string): void {
    this.note = note;
  }

  update(done: number, fraction = -1): void {
    this.done = done;
    this.fraction = fraction;
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < this.interval) return;
    this.last = now;
    this.draw(false);
  }

  /** the last line; the display is finished after it */
  finish(done: number = this.done): void {
    this.done = done;
    if (!this.enabled) return;
    this.fraction = 1;
    this.draw(true);
  }

  /** clears a terminal line before some other message is printed */
  interrupt(): void {
    if (this.enabled && this.tty && this.drawn) {
      this.stream.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  line(final: boolean): string {
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    let share = this.fraction;
    if (share < 0 && this.total > 0) share = Math.min(1, this.done / this.total);
    const parts = [`${this.options.label}: ${fmt.format(this.done)}${this.total > 0 ? ` / ~${fmt.format(this.total)}` : ''} keys`];
    if (share >= 0 && !final) parts.push(`${Math.floor(share * 100)}%`);
    parts.push(`${fmt.format(Math.round(rate))} keys/s`);
    if (final) parts.push(`in ${formatDuration(elapsed)}`);
    else if (share > 0 && share < 1) parts.push(`ETA ${formatDuration((elapsed * (1 - share)) / share)}`);
    if (this.note) parts.push(this.note);
    return parts.join('  ');
  }

  private draw(final: boolean): void {
    const text = this.line(final);
    if (this.tty) {
      const width = this.stream.columns ?? 0;
      const shown = width > 1 && text.length >= width ? text.slice(0, width - 1) : text;
      this.stream.write(`\r${shown}\x1b[K${final ? '\n' : ''}`);
      this.drawn = !final;
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}
