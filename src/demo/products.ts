import { encodePng, hsl } from './png.ts';
import { Random } from './random.ts';
import { CATEGORIES, PRODUCT_LINES, type Category } from './reference-data.ts';
import { DAY, dateText } from './timeline.ts';

/** The demo catalog: about 350 products over the leaf categories, each with a small PNG thumbnail. */

export interface Product {
  id: number;
  sku: string;
  name: string;
  categoryId: number;
  listPriceCents: number;
  costCents: number;
  launched: number;
  discontinued: number | null;
  thumbnail: Uint8Array;
}

const CATALOG_START = Date.UTC(2020, 0, 1);
const LATEST_LAUNCH = Date.UTC(2026, 5, 30);
const LATEST_DISCONTINUATION = Date.UTC(2026, 5, 30);

export function leafCategories(): Category[] {
  return CATEGORIES.filter(c => c.popularity > 0);
}

export function buildProducts(seed: string): Product[] {
  const products: Product[] = [];
  let id = 1000;
  for (const category of leafCategories()) {
    const random = new Random(seed, 'catalog', category.id);
    const lines = random.shuffle(PRODUCT_LINES);
    let sequence = 0;
    for (const noun of category.nouns) {
      const count = random.int(3, 6);
      for (let i = 0; i < count; i++) {
        const line = lines[(sequence + i * 7) % lines.length] ?? 'Classic';
        sequence++;
        id++;
        // The first products of each category are the long-running core range, on sale throughout.
        const core = i === 0;
        const launched = core
          ? CATALOG_START + random.int(0, 700) * DAY
          : CATALOG_START + random.int(0, Math.floor((LATEST_LAUNCH - CATALOG_START) / DAY)) * DAY;
        const discontinued =
          !core && random.chance(0.14) ? Math.min(launched + random.int(200, 900) * DAY, LATEST_DISCONTINUATION) : null;
        const listPriceCents = priceCents(random, category.price);
        products.push({
          id,
          sku: `${category.name.slice(0, 3).toUpperCase()}-${String(id).padStart(5, '0')}`,
          name: `${line} ${noun}`,
          categoryId: category.id,
          listPriceCents,
          costCents: Math.round(listPriceCents * (0.42 + random.next() * 0.26)),
          launched,
          discontinued: discontinued !== null && discontinued > launched ? discontinued : null,
          thumbnail: thumbnail(category.hue, id)
        });
      }
    }
  }
  return products;
}

/** Log-uniform in the range, ending in .99, .49 or .00 like shelf prices. */
function priceCents(random: Random, [low, high]: readonly [number, number]): number {
  const dollars = Math.exp(Math.log(low) + random.next() * (Math.log(high) - Math.log(low)));
  const ending = random.pick([99, 99, 49, 0]);
  return Math.max(1, Math.floor(dollars)) * 100 + ending;
}

function thumbnail(hue: number, id: number): Uint8Array {
  const size = 24;
  const stripe = 3 + (id % 5);
  return encodePng(size, size, (x, y) =>
    (x + y + id) % stripe === 0 ? hsl(hue, 0.55, 0.35) : hsl((hue + (id % 40)) % 360, 0.6, 0.72 - (y / size) * 0.2)
  );
}

/** Whether a product was on sale at `time`. */
export function onSale(product: Product, time: number): boolean {
  return product.launched <= time && (product.discontinued === null || time < product.discontinued);
}

export function productRow(product: Product): unknown[] {
  return [
    product.id,
    product.sku,
    product.name,
    product.categoryId,
    product.listPriceCents / 100,
    product.costCents / 100,
    product.discontinued === null ? 1 : 0,
    dateText(product.launched),
    product.discontinued === null ? null : dateText(product.discontinued),
    product.thumbnail
  ];
}
