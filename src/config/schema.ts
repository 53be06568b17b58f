// The schema of the keys pxm itself reads. Like curtin, unknown top-level keys are allowed
// (configs use keys such as `bucket:` only to hold YAML anchors). storage, network, apt,
// grub, kernel, swap... are only checked to be mappings here: their own modules validate
// them in depth before anything runs.

const commandValue = {
  // A falsy value skips the entry; a list is argv; a string runs through `sh -c`.
  anyOf: [
    { type: 'null' },
    { const: false },
    { type: 'string' },
    { type: 'array', items: { type: ['string', 'number'] } },
  ],
  errorLabel: 'a command: a list (argv), a string (shell) or null to skip',
};

const commandMap = {
  type: ['object', 'null'],
  additionalProperties: commandValue,
};

const sourceSpec = {
  anyOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object',
      required: ['uri'],
      properties: {
        uri: { type: 'string', minLength: 1 },
        type: { type: 'string' },
        sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
      },
    },
  ],
  errorLabel: 'a source: a string or a mapping with uri (and optional type, sha256)',
};

const loose = { type: ['object', 'null'] };

const reportingHandler = {
  type: ['object', 'null'],
  required: ['type'],
  properties: {
    type: { enum: ['log', 'print', 'webhook', 'journald'] },
    level: { type: 'string' },
    endpoint: { type: 'string', pattern: '^https?://' },
    consumer_key: { type: 'string' },
    consumer_secret: { type: 'string' },
    token_key: { type: 'string' },
    token_secret: { type: 'string' },
  },
  if: { properties: { type: { const: 'webhook' } }, required: ['type'] },
  then: { required: ['endpoint'] },
};

// Entries without a path are skipped with a warning (curtin), so path is not required.
const writeFile = {
  type: ['object', 'null'],
  properties: {
    path: { type: 'string', minLength: 1 },
    content: { type: 'string' },
    encoding: { type: 'string' },
    permissions: { type: ['string', 'integer'] },
    owner: { type: 'string' },
    append: { type: 'boolean' },
    defer: { type: 'boolean' },
  },
};

export const configSchema = {
  type: 'object',
  properties: {
    stages: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' } },
    sources: {
      anyOf: [
        { type: 'object', additionalProperties: sourceSpec },
        { type: 'array', items: sourceSpec },
      ],
      errorLabel: 'a mapping (or list) of sources',
    },
    install: {
      type: 'object',
      properties: {
        log_file: { type: ['string', 'null'] },
        log_file_append: { type: 'boolean' },
        error_tarfile: { type: ['string', 'null'] },
        save_install_config: { anyOf: [{ type: 'string' }, { const: false }, { type: 'null' }] },
        save_install_log: { anyOf: [{ type: 'string' }, { const: false }, { type: 'null' }] },
        post_files: { type: 'array', items: { type: 'string' } },
        unmount: { enum: ['disabled', 'enabled', null] },
        target: { type: 'string' },
      },
    },
    reporting: { type: ['object', 'null'], additionalProperties: reportingHandler },
    proxy: {
      type: ['object', 'null'],
      properties: {
        http_proxy: { type: 'string' },
        https_proxy: { type: 'string' },
        no_proxy: { type: 'string' },
      },
    },
    http_proxy: { type: 'string' },
    write_files: { type: ['object', 'null'], additionalProperties: writeFile },
    storage: loose,
    network: loose,
    apt: loose,
    grub: loose,
    kernel: loose,
    swap: loose,
    curthooks: loose,
    power_state: loose,
    debconf_selections: loose,
  },
  patternProperties: { '^[A-Za-z0-9_-]+_commands$': commandMap },
} as const;
