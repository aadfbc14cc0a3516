/**
 * The demo database's schema. Money is DECIMAL(p,2); timestamps are UTC text in SQLite's own
 * `YYYY-MM-DD HH:MM:SS` form, so `WHERE attempted_at >= datetime('now', '-1 hour')` compares correctly.
 */

/** Bumped whenever the schema or the generator changes; an older demo file is rebuilt. */
export const DEMO_FORMAT_VERSION = 1;
/** Stored in `PRAGMA application_id` to recognise a demo file ("SQBd" + version). */
export const DEMO_APPLICATION_ID = 0x53514200 + DEMO_FORMAT_VERSION;

export const DEMO_SCHEMA = `
CREATE TABLE regions (
  region_id    INTEGER PRIMARY KEY,
  code         VARCHAR(8)  NOT NULL UNIQUE,
  name         VARCHAR(60) NOT NULL,
  tax_rate     DECIMAL(5,4) NOT NULL
);

CREATE TABLE marketing_channels (
  channel_id   INTEGER PRIMARY KEY,
  name         VARCHAR(40) NOT NULL UNIQUE,
  is_paid      BOOLEAN NOT NULL
);

CREATE TABLE customers (
  customer_id             INTEGER PRIMARY KEY,
  customer_uuid           CHAR(36) NOT NULL UNIQUE,
  first_name              VARCHAR(60) NOT NULL,
  last_name               VARCHAR(60) NOT NULL,
  email                   VARCHAR(200) NOT NULL UNIQUE,
  company_name            VARCHAR(120),
  region_id               INTEGER NOT NULL REFERENCES regions (region_id),
  acquisition_channel_id  INTEGER REFERENCES marketing_channels (channel_id),
  is_business             BOOLEAN NOT NULL DEFAULT 0,
  marketing_opt_in        BOOLEAN NOT NULL DEFAULT 0,
  signed_up_at            TIMESTAMP NOT NULL
);
CREATE INDEX ix_customers_signed_up_at ON customers (signed_up_at);
CREATE INDEX ix_customers_region ON customers (region_id, signed_up_at);

CREATE TABLE marketing_spend (
  region_id    INTEGER NOT NULL REFERENCES regions (region_id),
  channel_id   INTEGER NOT NULL REFERENCES marketing_channels (channel_id),
  month        DATE NOT NULL,
  amount       DECIMAL(12,2) NOT NULL,
  impressions  INTEGER NOT NULL,
  clicks       INTEGER NOT NULL,
  PRIMARY KEY (region_id, channel_id, month)
);

CREATE TABLE product_categories (
  category_id         INTEGER PRIMARY KEY,
  name                VARCHAR(60) NOT NULL UNIQUE,
  parent_category_id  INTEGER REFERENCES product_categories (category_id)
);

CREATE TABLE products (
  product_id       INTEGER PRIMARY KEY,
  sku              VARCHAR(20) NOT NULL UNIQUE,
  name             VARCHAR(120) NOT NULL,
  category_id      INTEGER NOT NULL REFERENCES product_categories (category_id),
  unit_price       DECIMAL(10,2) NOT NULL,
  unit_cost        DECIMAL(10,2) NOT NULL,
  is_active        BOOLEAN NOT NULL DEFAULT 1,
  launched_on      DATE NOT NULL,
  discontinued_on  DATE,
  thumbnail_png    BLOB
);
CREATE INDEX ix_products_category ON products (category_id);

CREATE TABLE orders (
  order_id       INTEGER PRIMARY KEY,
  order_number   VARCHAR(20) NOT NULL UNIQUE,
  customer_id    INTEGER NOT NULL REFERENCES customers (customer_id),
  ordered_at     TIMESTAMP NOT NULL,
  status         VARCHAR(12) NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
  sales_channel  VARCHAR(10) NOT NULL CHECK (sales_channel IN ('web', 'mobile', 'phone')),
  subtotal       DECIMAL(12,2) NOT NULL,
  shipping_fee   DECIMAL(12,2) NOT NULL,
  tax            DECIMAL(12,2) NOT NULL,
  total          DECIMAL(12,2) NOT NULL,
  currency       CHAR(3) NOT NULL DEFAULT 'USD',
  coupon_code    VARCHAR(20),
  shipped_at     TIMESTAMP,
  delivered_at   TIMESTAMP
);
CREATE INDEX ix_orders_customer ON orders (customer_id);
CREATE INDEX ix_orders_ordered_at ON orders (ordered_at);

CREATE TABLE order_items (
  order_id         INTEGER NOT NULL REFERENCES orders (order_id),
  line_number      INTEGER NOT NULL,
  product_id       INTEGER NOT NULL REFERENCES products (product_id),
  quantity         INTEGER NOT NULL CHECK (quantity > 0),
  unit_price       DECIMAL(10,2) NOT NULL,
  discount_amount  DECIMAL(10,2) NOT NULL DEFAULT 0,
  PRIMARY KEY (order_id, line_number)
);
CREATE INDEX ix_order_items_product ON order_items (product_id);

CREATE TABLE returns (
  return_id      INTEGER PRIMARY KEY,
  order_id       INTEGER NOT NULL,
  line_number    INTEGER NOT NULL,
  returned_at    TIMESTAMP NOT NULL,
  quantity       INTEGER NOT NULL,
  reason         VARCHAR(30) NOT NULL,
  refund_amount  DECIMAL(10,2) NOT NULL,
  FOREIGN KEY (order_id, line_number) REFERENCES order_items (order_id, line_number)
);
CREATE INDEX ix_returns_order_line ON returns (order_id, line_number);

CREATE TABLE payment_transactions (
  transaction_id    CHAR(36) PRIMARY KEY,
  order_id          INTEGER REFERENCES orders (order_id),
  customer_id       INTEGER NOT NULL REFERENCES customers (customer_id),
  kind              VARCHAR(8) NOT NULL CHECK (kind IN ('charge', 'refund')),
  amount            DECIMAL(12,2) NOT NULL,
  currency          CHAR(3) NOT NULL,
  status            VARCHAR(10) NOT NULL CHECK (status IN ('succeeded', 'failed')),
  failure_code      VARCHAR(30),
  card_brand        VARCHAR(12) NOT NULL,
  card_last4        CHAR(4) NOT NULL,
  attempted_at      TIMESTAMP NOT NULL,
  settled_at        TIMESTAMP,
  gateway_response  BLOB NOT NULL
);
CREATE INDEX ix_payments_attempted_at ON payment_transactions (attempted_at);
CREATE INDEX ix_payments_status ON payment_transactions (status, attempted_at);
CREATE INDEX ix_payments_order ON payment_transactions (order_id);

-- Recognised revenue per order line: orders that were paid (not pending, not cancelled).
CREATE VIEW order_line_revenue AS
SELECT oi.order_id,
       oi.line_number,
       o.ordered_at,
       strftime('%Y', o.ordered_at) || '-Q' || ((CAST(strftime('%m', o.ordered_at) AS INTEGER) + 2) / 3) AS quarter,
       pc.name AS category,
       p.product_id,
       p.name AS product,
       oi.quantity,
       ROUND(oi.quantity * oi.unit_price - oi.discount_amount, 2) AS revenue
  FROM order_items oi
  JOIN orders o ON o.order_id = oi.order_id
  JOIN products p ON p.product_id = oi.product_id
  JOIN product_categories pc ON pc.category_id = p.category_id
 WHERE o.status IN ('paid', 'shipped', 'delivered');

-- New customers per region and month next to that month's marketing spend.
CREATE VIEW monthly_acquisition AS
SELECT r.region_id,
       r.name AS region,
       m.month,
       m.marketing_spend,
       (SELECT COUNT(*) FROM customers c
         WHERE c.region_id = r.region_id AND c.signed_up_at >= m.month AND c.signed_up_at < date(m.month, '+1 month')) AS new_customers
  FROM regions r
  JOIN (SELECT region_id, month, SUM(amount) AS marketing_spend FROM marketing_spend GROUP BY region_id, month) m
    ON m.region_id = r.region_id;
`;
