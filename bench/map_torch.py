# map_torch.py — the peer for bench_map_dense: PyTorch CPU (2 threads) evaluating the
# study's CNN branch + head (C = 22, 22×22 patches, eval mode) patch by patch in batches of
# 4096, and the same network as one dense à-trous pass over a 512×512 tile. Random weights
# of the same architecture (throughput does not depend on the values).
# Run: LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 bench/map_torch.py
import time, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0); torch.set_num_threads(2)
C = 22
convs = [nn.Conv2d(C, 32, 3), nn.Conv2d(32, 64, 3), nn.Conv2d(64, 128, 3)]
bns = [nn.BatchNorm2d(n, eps=1e-3).eval() for n in (32, 64, 128)]
d1, d2, d3 = nn.Linear(192, 128), nn.Linear(128, 64), nn.Linear(64, 1)
g = torch.randn(64)  # the LSTM state of the cell's temporal cell (computed once per 1 km cell)
def head(f):
    h = torch.cat([f, g.expand(f.shape[0], 64)], 1)
    return torch.sigmoid(d3(F.relu(d2(F.relu(d1(h))))))
def patch_net(x):
    for c, b in zip(convs, bns): x = b(F.max_pool2d(F.relu(c(x)), 2))
    return head(x.flatten(1))
def dense_net(img):
    x, d = img, 1
    for c, b in zip(convs, bns):
        x = b(F.max_pool2d(F.relu(F.conv2d(x, c.weight, c.bias, dilation=d)), 2, stride=1, dilation=d)); d *= 2
    f = x[0].flatten(1).t()
    return head(f)
with torch.no_grad():
    P = torch.rand(4096, C, 22, 22); patch_net(P)
    t = time.time(); n = 0
    for _ in range(3): patch_net(P); n += 4096
    pp = n / (time.time() - t)
    T = 512; img = torch.rand(1, C, T + 21, T + 21); dense_net(img)
    t = time.time(); dense_net(img); dn = T * T / (time.time() - t)
print(f"torch patch-by-patch (batch 4096): {pp:,.0f} cells/s   torch dense à trous (512 tile): {dn:,.0f} cells/s")
