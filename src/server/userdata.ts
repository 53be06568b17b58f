// What nodes are served: commissioning and enlistment scripts, preseeds (cloud-config
// that carries a node's credentials into its ephemeral environment), vendor-data, and
// the server's additions to an install config. Pure text rendering; no I/O.
import { stringify } from 'yaml';
import type { NodeRecord } from './store/types.js';

export interface Urls {
  /** http://host:port as the node reached the server. */
  base: string;
}

export function metadataUrl(u: Urls): string {
  return `${u.base}/MAAS/metadata/`;
}

function maasCreds(n: NodeRecord): Record<string, string> {
  return {
    consumer_key: n.credentials.consumerKey,
    token_key: n.credentials.tokenKey,
    token_secret: n.credentials.tokenSecret,
  };
}

/** cloud-config that points cloud-init's MAAS datasource and webhook reporter at us. */
export function datasourceConfig(n: NodeRecord, u: Urls): Record<string, unknown> {
  return {
    datasource_list: ['MAAS'],
    datasource: { MAAS: { metadata_url: metadataUrl(u), ...maasCreds(n) } },
    reporting: {
      maas: { type: 'webhook', endpoint: `${metadataUrl(u)}status/${n.id}`, ...maasCreds(n) },
    },
  };
}

/** The node's preseed (`cloud-config-url` on the kernel command line). */
export function nodePreseed(n: NodeRecord, u: Urls): string {
  const cfg: Record<string, unknown> = { ...datasourceConfig(n, u) };
  // The ephemeral environment ends by itself: commissioning powers off, an install
  // reboots into the installed OS (the node has turned netboot off by then).
  if (n.status === 'DEPLOYING') cfg.power_state = { mode: 'reboot', delay: 'now', timeout: 3600 };
  else
    cfg.power_state = {
      mode: 'poweroff',
      delay: 'now',
      timeout: 1800,
      condition: 'test ! -e /tmp/block-poweroff',
    };
  return '#cloud-config\n' + stringify(cfg);
}

export function enlistPreseed(u: Urls): string {
  return (
    '#cloud-config\n' +
    stringify({
      datasource_list: ['MAAS'],
      datasource: { MAAS: { metadata_url: metadataUrl(u) } },
      power_state: {
        mode: 'poweroff',
        delay: 'now',
        timeout: 1800,
        condition: 'test ! -e /tmp/block-poweroff',
      },
    })
  );
}

/** vendor-data as MAAS serves it: YAML whose `cloud-init` key holds a cloud-config. */
export function vendorCloudConfig(n: NodeRecord): string {
  return (
    '#cloud-config\n' +
    stringify({ hostname: n.hostname, fqdn: `${n.hostname}.${n.domain}`, manage_etc_hosts: true })
  );
}

export function vendorData(n: NodeRecord): string {
  return stringify({ 'cloud-init': vendorCloudConfig(n) });
}

/** Netplan v2 config for NoCloud: DHCP on every known NIC, matched by MAC. */
export function networkConfig(n: NodeRecord): string | undefined {
  if (!n.macs.length) return undefined;
  const ethernets: Record<string, unknown> = {};
  n.macs.forEach((mac, i) => {
    ethernets[`nic${i}`] = { match: { macaddress: mac }, 'set-name': `nic${i}`, dhcp4: true };
  });
  return stringify({ version: 2, ethernets });
}

// The commissioning and enlistment programs are Python 3: every cloud image that has
// cloud-init has python3, and it builds correct JSON and multipart bodies. They only read
// /proc and /sys.
const PY_COMMON = String.raw`
import json, os, platform, time, uuid, urllib.request, urllib.parse, glob

def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default

def inventory():
    cpuinfo = read('/proc/cpuinfo', '')
    models = [l.split(':', 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith('model name')]
    mem = {}
    for line in read('/proc/meminfo', '').splitlines():
        k, _, v = line.partition(':')
        mem[k] = v.strip()
    disks = []
    for d in sorted(glob.glob('/sys/block/*')):
        name = os.path.basename(d)
        if name.startswith(('loop', 'ram', 'zram', 'dm-', 'md', 'sr', 'nbd')):
            continue
        disks.append({'name': name,
                      'size': int(read(d + '/size', '0')) * 512,
                      'model': read(d + '/device/model'),
                      'serial': read(d + '/device/serial'),
                      'rotational': read(d + '/queue/rotational') == '1'})
    nics = []
    for n in sorted(glob.glob('/sys/class/net/*')):
        name = os.path.basename(n)
        if name == 'lo' or not os.path.exists(n + '/device'):
            continue
        speed = read(n + '/speed')
        nics.append({'name': name, 'mac': read(n + '/address'),
                     'speed_mbps': int(speed) if speed and speed.lstrip('-').isdigit() and int(speed) > 0 else None,
                     'driver': os.path.basename(os.path.realpath(n + '/device/driver')) if os.path.exists(n + '/device/driver') else None})
    return {'cpu': {'count': os.cpu_count(), 'model': models[0] if models else None, 'architecture': platform.machine()},
            'memory': {'total_bytes': int(mem.get('MemTotal', '0 kB').split()[0]) * 1024},
            'disks': disks, 'nics': nics}

def multipart(fields, files):
    b = uuid.uuid4().hex
    out = []
    for k, v in fields.items():
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (b, k, v)).encode())
    for name, data in files.items():
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    'Content-Type: application/octet-stream\r\n\r\n' % (b, name, name)).encode() + data + b'\r\n')
    out.append(('--%s--\r\n' % b).encode())
    return b''.join(out), 'multipart/form-data; boundary=' + b
`;

/** Collects inventory and signals it with op=signal (OK, or FAILED with the error). */
export function commissioningScript(n: NodeRecord, u: Urls): string {
  const conf = JSON.stringify({ url: `${metadataUrl(u)}2012-03-01/`, ...maasCreds(n) });
  return `#!/usr/bin/python3
# pxm commissioning for node ${n.id}: collect hardware inventory and send it back.
${PY_COMMON}
CONF = json.loads(${JSON.stringify(conf)})

def oauth():
    q = urllib.parse.quote
    return ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", '
            'oauth_consumer_key="%s", oauth_token="%s", oauth_signature="%s", '
            'oauth_nonce="%s", oauth_timestamp="%d"' % (q(CONF['consumer_key'], safe=''), q(CONF['token_key'], safe=''),
            q('&' + CONF['token_secret'], safe=''), uuid.uuid4().hex, int(time.time())))

def signal(fields, files):
    body, ctype = multipart(dict(fields, op='signal'), files)
    req = urllib.request.Request(CONF['url'], data=body, method='POST',
                                 headers={'Content-Type': ctype, 'Authorization': oauth()})
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()

try:
    start = time.time()
    inv = json.dumps(inventory(), indent=1).encode()
    signal({'status': 'OK', 'exit_status': '0', 'name': 'pxm-inventory', 'runtime': '%.2f' % (time.time() - start)},
           {'pxm-inventory.json': inv})
except Exception as e:
    signal({'status': 'FAILED', 'error': 'commissioning failed: %s' % e}, {})
    raise
`;
}

/** Enlists this machine anonymously unless one of its MACs is known already. */
export function enlistScript(u: Urls): string {
  return `#!/usr/bin/python3
# pxm enlistment: register this machine with the controller.
${PY_COMMON}
API = ${JSON.stringify(`${u.base}/MAAS/api/2.0/machines/`)}
inv = inventory()
macs = [n['mac'] for n in inv['nics'] if n['mac']]
for mac in macs:
    with urllib.request.urlopen(API + '?op=is_registered&mac_address=' + urllib.parse.quote(mac), timeout=30) as r:
        if json.loads(r.read()):
            print('already registered:', mac)
            raise SystemExit(0)
arch = {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(platform.machine(), platform.machine())
fields = [('architecture', arch + '/generic')] + [('mac_addresses', m) for m in macs]
req = urllib.request.Request(API, data=urllib.parse.urlencode(fields).encode(), method='POST')
with urllib.request.urlopen(req, timeout=30) as r:
    print(r.read().decode())
`;
}

/**
 * The config the server adds to the operator's for a node's install: event reporting to
 * the node's webhook, cloud-init datasource config for the installed OS, and netboot_off
 * as the very last late command so the next boot is from disk.
 */
export function installAdditions(n: NodeRecord, u: Urls): string {
  const creds = maasCreds(n);
  const ds = datasourceConfig(n, u);
  const netbootOff = [
    'set -e',
    `url='${metadataUrl(u)}2012-03-01/'`,
    `auth='OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="${creds.consumer_key}", oauth_token="${creds.token_key}", oauth_signature="%26${creds.token_secret}", oauth_nonce="'$(date +%s%N)'", oauth_timestamp="'$(date +%s)'"'`,
    'if command -v curl >/dev/null; then curl -fsS -X POST -H "Authorization: $auth" --data op=netboot_off "$url";',
    'else wget -q -O- --header="Authorization: $auth" --post-data=op=netboot_off "$url"; fi',
  ].join('\n');
  const cfg: Record<string, unknown> = {
    reporting: {
      pxm: { type: 'webhook', endpoint: `${metadataUrl(u)}status/${n.id}`, ...creds },
    },
    write_files: {
      pxm_datasource: {
        path: '/etc/cloud/cloud.cfg.d/90_pxm_datasource.cfg',
        permissions: '0600',
        content: stringify(ds),
      },
    },
    late_commands: { zzzz_pxm_netboot_off: ['sh', '-c', netbootOff] },
  };
  if (n.deploy.source) cfg.sources = { '00_pxm': n.deploy.source };
  return stringify(cfg);
}
