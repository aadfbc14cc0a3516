/** The fixed reference data of the demo retailer, Northwind Outfitters. */

export interface Region {
  id: number;
  code: string;
  name: string;
  /** Share of new customers. */
  share: number;
  /** What a new customer costs in marketing, in USD, before channel mix. */
  targetCac: number;
  taxRate: number;
  /** Probability that a card payment attempt is declined. */
  declineRate: number;
}

export const REGIONS: readonly Region[] = [
  { id: 1, code: 'NA', name: 'North America', share: 0.38, targetCac: 48, taxRate: 0.0725, declineRate: 0.08 },
  { id: 2, code: 'EU', name: 'Europe', share: 0.24, targetCac: 56, taxRate: 0.2, declineRate: 0.07 },
  { id: 3, code: 'UK', name: 'United Kingdom & Ireland', share: 0.12, targetCac: 52, taxRate: 0.2, declineRate: 0.07 },
  { id: 4, code: 'LATAM', name: 'Latin America', share: 0.11, targetCac: 27, taxRate: 0.16, declineRate: 0.14 },
  { id: 5, code: 'APAC', name: 'Asia-Pacific', share: 0.11, targetCac: 63, taxRate: 0.1, declineRate: 0.09 },
  { id: 6, code: 'MEA', name: 'Middle East & Africa', share: 0.04, targetCac: 38, taxRate: 0.15, declineRate: 0.12 }
];

export interface Channel {
  id: number;
  name: string;
  paid: boolean;
  /** Share of new customers this channel brings. */
  share: number;
  /** Cost per customer relative to the region's target. */
  costFactor: number;
}

export const CHANNELS: readonly Channel[] = [
  { id: 1, name: 'Paid Search', paid: true, share: 0.3, costFactor: 1.35 },
  { id: 2, name: 'Social Media', paid: true, share: 0.22, costFactor: 1.15 },
  { id: 3, name: 'Affiliates', paid: true, share: 0.12, costFactor: 0.9 },
  { id: 4, name: 'Email', paid: true, share: 0.08, costFactor: 0.35 },
  { id: 5, name: 'Organic Search', paid: false, share: 0.2, costFactor: 0 },
  { id: 6, name: 'Referral', paid: false, share: 0.08, costFactor: 0 }
];

export interface Category {
  id: number;
  name: string;
  parentId: number | null;
  /** Price range of its products, USD. */
  price: readonly [number, number];
  /** Share of order lines. */
  popularity: number;
  returnRate: number;
  nouns: readonly string[];
  hue: number;
}

export const CATEGORIES: readonly Category[] = [
  {
    id: 1,
    name: 'Electronics',
    parentId: null,
    price: [19, 899],
    popularity: 0,
    returnRate: 0.04,
    nouns: [],
    hue: 210
  },
  {
    id: 2,
    name: 'Audio',
    parentId: 1,
    price: [24, 449],
    popularity: 9,
    returnRate: 0.05,
    nouns: [
      'Wireless Earbuds',
      'Over-Ear Headphones',
      'Bookshelf Speaker',
      'Soundbar',
      'Portable Speaker',
      'Turntable'
    ],
    hue: 200
  },
  {
    id: 3,
    name: 'Cameras',
    parentId: 1,
    price: [89, 1299],
    popularity: 3,
    returnRate: 0.06,
    nouns: ['Mirrorless Camera', 'Action Camera', 'Camera Lens', 'Tripod', 'Camera Bag'],
    hue: 220
  },
  {
    id: 4,
    name: 'Home & Kitchen',
    parentId: null,
    price: [12, 329],
    popularity: 14,
    returnRate: 0.03,
    nouns: ['Chef Knife', 'Cast Iron Skillet', 'Espresso Machine', 'Blender', 'Cookware Set', 'Kettle', 'Toaster'],
    hue: 30
  },
  {
    id: 5,
    name: 'Outdoor & Sports',
    parentId: null,
    price: [15, 499],
    popularity: 0,
    returnRate: 0.04,
    nouns: [],
    hue: 120
  },
  {
    id: 6,
    name: 'Camping',
    parentId: 5,
    price: [18, 459],
    popularity: 8,
    returnRate: 0.04,
    nouns: ['Two-Person Tent', 'Sleeping Bag', 'Camping Stove', 'Headlamp', 'Trekking Poles', 'Backpack 40L'],
    hue: 110
  },
  {
    id: 7,
    name: 'Cycling',
    parentId: 5,
    price: [14, 1899],
    popularity: 5,
    returnRate: 0.05,
    nouns: ['Bike Helmet', 'Road Bike', 'Bike Lights', 'Cycling Jersey', 'Bike Lock'],
    hue: 140
  },
  {
    id: 8,
    name: 'Apparel',
    parentId: null,
    price: [14, 249],
    popularity: 16,
    returnRate: 0.11,
    nouns: ['Rain Jacket', 'Merino T-Shirt', 'Fleece Pullover', 'Hiking Pants', 'Wool Socks', 'Down Vest'],
    hue: 330
  },
  {
    id: 9,
    name: 'Books',
    parentId: null,
    price: [9, 59],
    popularity: 9,
    returnRate: 0.01,
    nouns: ['Field Guide', 'Cookbook', 'Travel Atlas', 'Trail Guide', 'Photography Handbook'],
    hue: 45
  },
  {
    id: 10,
    name: 'Toys & Games',
    parentId: null,
    price: [8, 149],
    popularity: 8,
    returnRate: 0.03,
    nouns: ['Board Game', 'Puzzle 1000 pcs', 'Building Set', 'Card Game', 'Kite'],
    hue: 280
  },
  {
    id: 11,
    name: 'Beauty & Health',
    parentId: null,
    price: [6, 199],
    popularity: 9,
    returnRate: 0.02,
    nouns: ['Sunscreen SPF 50', 'Electric Toothbrush', 'Lip Balm', 'First Aid Kit', 'Insect Repellent'],
    hue: 0
  },
  {
    id: 12,
    name: 'Office Supplies',
    parentId: null,
    price: [4, 399],
    popularity: 6,
    returnRate: 0.02,
    nouns: ['Notebook', 'Desk Lamp', 'Fountain Pen', 'Ergonomic Chair', 'Monitor Stand'],
    hue: 60
  },
  {
    id: 13,
    name: 'Garden',
    parentId: null,
    price: [7, 279],
    popularity: 7,
    returnRate: 0.03,
    nouns: ['Pruning Shears', 'Garden Hose', 'Planter Box', 'Seed Kit', 'Watering Can'],
    hue: 90
  },
  {
    id: 14,
    name: 'Pet Supplies',
    parentId: null,
    price: [5, 189],
    popularity: 6,
    returnRate: 0.03,
    nouns: ['Dog Leash', 'Cat Tree', 'Pet Bed', 'Travel Bowl', 'Chew Toy'],
    hue: 15
  }
];

export const PRODUCT_LINES = [
  'Aero',
  'Nimbus',
  'Summit',
  'Terra',
  'Nova',
  'Drift',
  'Alder',
  'Cobalt',
  'Ember',
  'Fjord',
  'Granite',
  'Harbor',
  'Juniper',
  'Kestrel',
  'Lumen',
  'Meridian',
  'Orbit',
  'Pioneer',
  'Quartz',
  'Ridge',
  'Sierra',
  'Tundra',
  'Vista',
  'Willow'
] as const;

export const FIRST_NAMES = [
  'Olivia',
  'Liam',
  'Emma',
  'Noah',
  'Ava',
  'Lucas',
  'Sofia',
  'Mateo',
  'Mia',
  'Leo',
  'Amelia',
  'Hugo',
  'Isla',
  'Arjun',
  'Chloe',
  'Kenji',
  'Aisha',
  'Mohammed',
  'Yuki',
  'Camila',
  'Ethan',
  'Zara',
  'Lars',
  'Ingrid',
  'Diego',
  'Priya',
  'Wei',
  'Fatima',
  'Tomás',
  'Nora',
  'Omar',
  'Hannah',
  'Luca',
  'Elena',
  'Daniel',
  'Grace',
  'Samuel',
  'Lea',
  'Javier',
  'Mei'
] as const;

export const LAST_NAMES = [
  'Smith',
  'García',
  'Müller',
  'Rossi',
  'Nguyen',
  'Kim',
  'Johnson',
  'Silva',
  'Dubois',
  'Kowalski',
  'Tanaka',
  'Singh',
  'Brown',
  'López',
  'Jensen',
  'O’Brien',
  'Haddad',
  'Novak',
  'Costa',
  'Fischer',
  'Martin',
  'Wilson',
  'Okafor',
  'Chen',
  'Larsen',
  'Moreau',
  'Petrov',
  'Santos',
  'Yilmaz',
  'Andersson',
  'Murphy',
  'Ito',
  'Cohen',
  'Ferreira',
  'Schmidt'
] as const;

export const COMPANY_WORDS = [
  'Labs',
  'Studio',
  'Partners',
  'Outfitters',
  'Works',
  'Group',
  'Collective',
  'Supply'
] as const;

export const CARD_BRANDS: readonly (readonly [string, number])[] = [
  ['visa', 52],
  ['mastercard', 30],
  ['amex', 10],
  ['discover', 4],
  ['jcb', 4]
];

export const FAILURE_CODES: readonly (readonly [string, number])[] = [
  ['card_declined', 38],
  ['insufficient_funds', 22],
  ['expired_card', 9],
  ['incorrect_cvc', 11],
  ['processing_error', 6],
  ['fraud_suspected', 8],
  ['authentication_required', 6]
];

export const RETURN_REASONS = [
  'wrong_size',
  'damaged',
  'not_as_described',
  'changed_mind',
  'arrived_late',
  'defective'
] as const;

export const COUPONS = ['WELCOME10', 'SPRING15', 'SUMMER20', 'FALL15', 'HOLIDAY20', 'LOYAL10'] as const;
