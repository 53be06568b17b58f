# Bench helper: N in-process parse+ENI renders with Debian's cloud-init; prints ms each.
import sys, time, yaml
from cloudinit.net import eni, network_state

n, file = int(sys.argv[1]), sys.argv[2]
cfg = yaml.safe_load(open(file))['network']
t = time.perf_counter()
size = 0
for _ in range(n):
    ns = network_state.parse_net_config_data(cfg)
    size += len(eni.Renderer()._render_interfaces(ns))
print((time.perf_counter() - t) / n * 1e3, size)
