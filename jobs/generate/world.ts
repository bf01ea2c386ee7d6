import { Rng } from './rng.js';

/** The marketplace's static cast: customers, products, campaigns, carriers. Internal to the generator. */

export const COUNTRIES = [
  { code: 'ES', currency: 'EUR', fx: 1, cities: ['Madrid', 'Barcelona', 'Valencia', 'Sevilla'], weight: 3 },
  { code: 'FR', currency: 'EUR', fx: 1, cities: ['Paris', 'Lyon', 'Marseille', 'Lille'], weight: 3 },
  { code: 'DE', currency: 'EUR', fx: 1, cities: ['Berlin', 'Hamburg', 'München', 'Köln'], weight: 3 },
  { code: 'IT', currency: 'EUR', fx: 1, cities: ['Roma', 'Milano', 'Torino', 'Napoli'], weight: 2 },
  { code: 'GB', currency: 'GBP', fx: 0.86, cities: ['London', 'Manchester', 'Leeds', 'Bristol'], weight: 2 },
  { code: 'US', currency: 'USD', fx: 1.08, cities: ['New York', 'Austin', 'Chicago', 'Seattle'], weight: 2 },
] as const;
export type Country = (typeof COUNTRIES)[number];

export const SEGMENTS = ['consumer', 'business', 'vip'] as const;
const SEGMENT_RATE = { consumer: 0.022, business: 0.035, vip: 0.06 } as const;

/** Carriers differ in how often they are late: the main cause of bad experiences. */
export const CARRIERS = [
  { name: 'swiftpost', lateRate: 0.05, promisedDays: 3 },
  { name: 'parcelnet', lateRate: 0.16, promisedDays: 2 },
  { name: 'budgetship', lateRate: 0.34, promisedDays: 4 },
] as const;
export type Carrier = (typeof CARRIERS)[number];

export const PROCESSORS = ['stripe', 'adyen'] as const;
export const CHANNELS = ['email', 'social', 'search', 'display'] as const;
export const CHANNEL_CONVERSION = { email: 0.05, social: 0.03, search: 0.09, display: 0.015 } as const;

const CATEGORIES = {
  electronics: { brands: ['Voltra', 'Kepler', 'Nimbus', 'Arcadia'], price: 180, returnRate: 0.07 },
  home: { brands: ['Casaluz', 'Hearth&Co', 'Nordlys'], price: 60, returnRate: 0.05 },
  fashion: { brands: ['Lumen', 'Atelier Nine', 'Rivage', 'Kodo'], price: 45, returnRate: 0.18 },
  beauty: { brands: ['Aurelle', 'Brisa'], price: 25, returnRate: 0.03 },
  sports: { brands: ['Stride', 'Peakform', 'Oceana'], price: 70, returnRate: 0.08 },
  toys: { brands: ['Tinkertop', 'Bramble'], price: 30, returnRate: 0.04 },
  books: { brands: ['Quillhouse', 'Paperlane'], price: 18, returnRate: 0.02 },
  garden: { brands: ['Verdant', 'Moss&Stone'], price: 55, returnRate: 0.05 },
} as const;
export type Category = keyof typeof CATEGORIES;

const FIRST = [
  'Lucía',
  'Hugo',
  'Emma',
  'Noah',
  'Sofia',
  'Liam',
  'Mia',
  'Leon',
  'Chloé',
  'Mateo',
  'Giulia',
  'Oliver',
  'Ava',
  'Lukas',
  'Inès',
  'Marco',
  'Amelia',
  'Elias',
  'Clara',
  'Jack',
];
const LAST = [
  'García',
  'Martin',
  'Müller',
  'Rossi',
  'Smith',
  'Johnson',
  'Fernández',
  'Bernard',
  'Schmidt',
  'Bianchi',
  'Brown',
  'López',
  'Dubois',
  'Weber',
  'Romano',
  'Taylor',
  'Moreno',
  'Petit',
  'Wagner',
  'Ricci',
];
const STREETS = [
  'Main St',
  'Calle Mayor',
  'Rue de la Paix',
  'Hauptstraße',
  'Via Roma',
  'High Street',
  'Oak Avenue',
  'Gran Vía',
];
const ADJECTIVES = ['Classic', 'Pro', 'Compact', 'Everyday', 'Premium', 'Eco', 'Ultra', 'Smart', 'Soft', 'Wild'];
const NOUNS: Record<Category, string[]> = {
  electronics: ['Headphones', 'Speaker', 'Tablet', 'Charger', 'Camera', 'Monitor'],
  home: ['Lamp', 'Cushion', 'Kettle', 'Rug', 'Vase', 'Blanket'],
  fashion: ['Jacket', 'Sneakers', 'Scarf', 'Dress', 'Jeans', 'Cap'],
  beauty: ['Serum', 'Lipstick', 'Cream', 'Shampoo'],
  sports: ['Yoga Mat', 'Racket', 'Bottle', 'Backpack', 'Helmet'],
  toys: ['Puzzle', 'Robot', 'Blocks', 'Plush'],
  books: ['Novel', 'Cookbook', 'Atlas', 'Guide'],
  garden: ['Planter', 'Hose', 'Shears', 'Lantern'],
};

export interface Customer {
  id: string;
  name: string;
  email: string;
  phone: string;
  country: Country;
  city: string;
  address: string;
  postalCode: string;
  segment: (typeof SEGMENTS)[number];
  baseRate: number;
  /** Probability that a card payment of this customer fails (issuer declines, expired cards). */
  cardRisk: number;
  signupDay: number;
  /** Bad experiences (late deliveries, failed payments): day and weight; they depress future buying. */
  bad: { day: number; weight: number }[];
}

export interface Product {
  id: string;
  sku: string;
  name: string;
  category: Category;
  brand: string;
  price: number;
  returnRate: number;
  launchDay: number;
  popularity: number;
}

export interface Campaign {
  id: string;
  name: string;
  channel: (typeof CHANNELS)[number];
  startDay: number;
  endDay: number;
  budget: number;
  segment: (typeof SEGMENTS)[number] | 'all';
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** With `joinFrom`, every customer signs up during the `days` from that day (a live world growing past its history). */
/** Country calling codes of the generated phone numbers (the rest of Europe shares a 3x prefix here). */
const DIALING: Record<string, string> = { US: '1', GB: '44' };

export function makeCustomers(rng: Rng, count: number, days: number, firstId = 1, joinFrom?: number): Customer[] {
  const out: Customer[] = [];
  for (let i = firstId; i < firstId + count; i++) {
    const country = rng.weighted(
      COUNTRIES,
      COUNTRIES.map((c) => c.weight),
    );
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const segment = rng.weighted(SEGMENTS, [0.75, 0.18, 0.07]);
    const ascii = (s: string) =>
      s
        .normalize('NFD')
        .replace(/[^a-zA-Z]/g, '')
        .toLowerCase();
    out.push({
      id: `c-${pad(i, 7)}`,
      name: `${first} ${last}`,
      email: `${ascii(first)}.${ascii(last)}${i}@${rng.pick(['mail.example', 'inbox.example', 'post.example'])}`,
      phone: `+${DIALING[country.code] ?? '3'}${pad(rng.int(100000000, 999999999), 9)}`,
      country,
      city: rng.pick(country.cities),
      address: `${rng.int(1, 250)} ${rng.pick(STREETS)}`,
      postalCode: pad(rng.int(1000, 99999), 5),
      segment,
      baseRate: SEGMENT_RATE[segment] * Math.exp(rng.normal(0, 0.45)),
      cardRisk: rng.weighted([0.02, 0.08, 0.3], [0.7, 0.22, 0.08]),
      // Most customers exist before the window; the rest sign up during it.
      signupDay:
        joinFrom !== undefined
          ? joinFrom + rng.int(0, Math.max(0, days - 1))
          : rng.chance(0.75)
            ? -rng.int(1, 700)
            : rng.int(0, Math.max(0, days - 1)),
      bad: [],
    });
  }
  return out;
}

/** With `launchFrom`, every product launches during the `days` from that day. */
export function makeProducts(rng: Rng, count: number, days: number, firstId = 1, launchFrom?: number): Product[] {
  const categories = Object.keys(CATEGORIES) as Category[];
  const out: Product[] = [];
  for (let i = firstId; i < firstId + count; i++) {
    const category = rng.pick(categories);
    const spec = CATEGORIES[category];
    const brand = rng.pick(spec.brands);
    out.push({
      id: `p-${pad(i, 6)}`,
      sku: `SKU-${category.slice(0, 3).toUpperCase()}-${pad(i, 6)}`,
      name: `${brand} ${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS[category])}`,
      category,
      brand,
      price: Math.max(2, Math.round(spec.price * Math.exp(rng.normal(0, 0.5)) * 100) / 100),
      returnRate: spec.returnRate,
      launchDay:
        launchFrom !== undefined
          ? launchFrom + rng.int(0, Math.max(0, days - 1))
          : rng.chance(0.85)
            ? -1
            : rng.int(0, Math.max(0, days - 1)),
      popularity: 1 / Math.pow(i, 0.8),
    });
  }
  return out;
}

/** With `startFrom`, campaigns run during the `days` from that day only, one every ten days. */
const CAMPAIGN_THEMES = ['Spring', 'Summer', 'Autumn', 'Winter', 'Flash', 'Loyalty', 'Welcome', 'Weekend'];
const CAMPAIGN_KINDS = ['Sale', 'Deals', 'Picks', 'Boost', 'Drop'];

export function makeCampaigns(rng: Rng, days: number, firstId = 1, startFrom?: number): Campaign[] {
  const count = startFrom === undefined ? 8 + Math.ceil(days / 10) : Math.ceil(days / 10);
  const out: Campaign[] = [];
  for (let i = firstId; i < firstId + count; i++) {
    const channel = rng.pick(CHANNELS);
    const startDay =
      startFrom === undefined ? rng.int(-10, Math.max(0, days - 10)) : startFrom + rng.int(0, Math.max(0, days - 10));
    out.push({
      id: `cmp-${pad(i, 4)}`,
      name: `${rng.pick(CAMPAIGN_THEMES)} ${rng.pick(CAMPAIGN_KINDS)} ${i}`,
      channel,
      startDay,
      endDay: startDay + rng.int(7, 30),
      budget: rng.int(20, 200) * 100,
      segment: rng.weighted([...SEGMENTS, 'all'] as const, [0.2, 0.1, 0.1, 0.6]),
    });
  }
  return out;
}
