// Schema migrations, applied in order; PRAGMA user_version records how many ran.
// Append only: never edit a migration that has shipped.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL UNIQUE,
    domain TEXT NOT NULL,
    architecture TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    status_changed_at INTEGER NOT NULL,
    ip TEXT,
    power_type TEXT NOT NULL,
    power_parameters TEXT NOT NULL,
    ssh_keys TEXT NOT NULL,
    consumer_key TEXT NOT NULL,
    token_key TEXT NOT NULL UNIQUE,
    token_secret TEXT NOT NULL,
    deploy TEXT NOT NULL,
    inventory TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX nodes_status ON nodes (status, status_changed_at);
  CREATE INDEX nodes_ip ON nodes (ip);
  CREATE TABLE macs (
    mac TEXT PRIMARY KEY,
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL
  );
  CREATE INDEX macs_node ON macs (node_id);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    time INTEGER NOT NULL,
    type TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT
  );
  CREATE INDEX events_node ON events (node_id, id);
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  -- DHCP leases arrive with the DHCP server; the table is here so that issue adds no
  -- migration to a schema it does not own.
  CREATE TABLE leases (
    mac TEXT PRIMARY KEY,
    ip TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL
  );
  `,
  // A version per node row, bumped by every update: caches of rendered metadata check
  // it (one indexed read) instead of re-reading and re-rendering the node.
  `ALTER TABLE nodes ADD COLUMN version INTEGER NOT NULL DEFAULT 0;`,
];
