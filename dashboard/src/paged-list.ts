// A server-side filtered, paged list (topics, groups): the page holds one page of rows, never
// the whole set, so 10,000 topics cost what 50 cost. Typing in the filter waits for a pause,
// goes back to the first page, and answers that arrive out of order are dropped.
import { getJson, query, type Page } from './api.js';
import { byId, formatCount } from './dom.js';

export interface PagedListOptions<T> {
  /** Element id prefix: `${id}-filter`, `-prev`, `-next`, `-range`, `-total`, `-body`. */
  id: string;
  endpoint: string;
  pageSize: number;
  render(items: T[], body: HTMLElement): void;
  /** Called after each successful load with the rows shown. */
  loaded?(items: T[]): void;
}

export class PagedList<T> {
  readonly #options: PagedListOptions<T>;
  #filter = '';
  #offset = 0;
  #total = 0;
  #sequence = 0;
  #debounce: number | undefined;

  constructor(options: PagedListOptions<T>) {
    this.#options = options;
    const filter = byId<HTMLInputElement>(`${options.id}-filter`);
    filter.addEventListener('input', () => {
      window.clearTimeout(this.#debounce);
      this.#debounce = window.setTimeout(() => {
        this.#filter = filter.value.trim();
        this.#offset = 0;
        void this.refresh();
      }, 200);
    });
    byId(`${options.id}-prev`).addEventListener('click', () => {
      this.#offset = Math.max(0, this.#offset - options.pageSize);
      void this.refresh();
    });
    byId(`${options.id}-next`).addEventListener('click', () => {
      if (this.#offset + options.pageSize < this.#total) this.#offset += options.pageSize;
      void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    const sequence = ++this.#sequence;
    const o = this.#options;
    const page = await getJson<Page<T>>(`${o.endpoint}?${query({ q: this.#filter, offset: this.#offset, limit: o.pageSize })}`);
    if (sequence !== this.#sequence) return;
    this.#total = page.total;
    byId(`${o.id}-total`).textContent = `(${formatCount(page.total)}${this.#filter === '' ? '' : ' matching'})`;
    byId(`${o.id}-range`).textContent = page.total === 0
      ? 'none'
      : `${formatCount(page.offset + 1)}–${formatCount(page.offset + page.items.length)} of ${formatCount(page.total)}`;
    (byId(`${o.id}-prev`) as HTMLButtonElement).disabled = page.offset === 0;
    (byId(`${o.id}-next`) as HTMLButtonElement).disabled = page.offset + page.items.length >= page.total;
    o.render(page.items, byId(`${o.id}-body`));
    o.loaded?.(page.items);
  }
}
