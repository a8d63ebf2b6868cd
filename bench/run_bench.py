#!/usr/bin/python3
"""genphys against its PyTorch twin on the same machine, in one run: both timing servers
(ddpmpp_bench serve, ddpmpp_twin.py serve) stay up, and every measurement is taken on one side
and then the other (alternating which goes first), so that load from elsewhere hits both alike.
Prints medians over the repetitions and the ratio twin/genphys (> 1: genphys is faster).
Forward passes and the convolution ceiling are timed in steady state on both sides: one untimed
call, then the mean of three.

    bench/run_bench.py --bench build/ddpmpp_bench [--reps 5] [--threads 2] [--quick] [--isa avx2]

Both sides run with the same settings: OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS=1 and glibc's
malloc tuned as genphys tunes itself (src/engine/runtime.cpp's mallopt calls, given to the twin as
GLIBC_TUNABLES), unless --stock-twin leaves the twin's environment alone. The header names the CPU
and the widest vector ISA it has, because oneDNN picks different kernels on AVX2 and AVX-512.
--isa avx2 runs both sides on an AVX-512 CPU as on an AVX2 one: oneDNN, ATen's vectorized kernels and
OpenBLAS are each limited to AVX2 (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY, OPENBLAS_CORETYPE), and
the bfloat16 row is left out (genphys --bf16 refuses CPUs without the instructions).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# glibc's names for genphys's mallopt(M_MMAP_THRESHOLD, 32 MB), (M_TRIM_THRESHOLD, 1 GB), (M_MMAP_MAX, 0).
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_max=0"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def has_bfloat16():
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


# What --isa avx2 sets on both sides: the dispatch limit of each library that picks kernels at run time.
AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell"}


def cpu_description():
    """'model name, ISA' from /proc/cpuinfo, e.g. 'AMD EPYC, AVX-512' (the first CPU's entry)."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.partition(":")[2].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    flags = cpu_flags()
    isa = ("AVX-512" + (" with VNNI" if "avx512_vnni" in flags else "") + (" and BF16" if has_bfloat16() else "")
           if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2")
    return f"{model}, {isa}"


class Server:
    def __init__(self, name, cmd, env):
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        self.hello = self.read()

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"run_bench: {self.name} server stopped")
        return json.loads(line)

    def ask(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.read()["seconds"]

    def close(self):
        self.proc.stdin.write(json.dumps({"what": "quit"}) + "\n")
        self.proc.stdin.close()
        self.proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", required=True, help="the ddpmpp_bench executable")
    p.add_argument("--python", default="/usr/bin/python3", help="Debian's python3 with python3-torch")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="sample 64 images instead of 256, 3 repetitions")
    p.add_argument("--stock-twin", action="store_true", help="run the twin without the shared environment")
    p.add_argument("--isa", choices=["native", "avx2"], default="native",
                   help="avx2: limit oneDNN, ATen and OpenBLAS to AVX2 on both sides")
    p.add_argument("--json", help="also write the results here")
    a = p.parse_args()
    if a.quick:
        a.reps = min(a.reps, 3)
    flags = cpu_flags()
    if a.isa == "avx2" and "avx2" not in flags:
        sys.exit("run_bench: --isa avx2 needs a CPU with AVX2")
    limits = AVX2_ONLY if a.isa == "avx2" else {}
    bf16 = has_bfloat16() and a.isa == "native"

    base = dict(os.environ, **limits)
    shared = dict(base, OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS="1")
    twin_env = dict(base) if a.stock_twin else dict(shared, GLIBC_TUNABLES=MALLOC_TUNABLES)
    ours = Server("genphys", [a.bench, "serve", str(a.threads)], shared)
    twin = Server("twin", [a.python, os.path.join(HERE, "ddpmpp_twin.py"), "serve", "--threads", str(a.threads)],
                  twin_env)
    flops = ours.hello["flops_per_image"]
    limited = (" (both sides limited to AVX2: " + ", ".join(f"{k}={v}" for k, v in limits.items()) + ")") if limits else ""
    print(f"# CPU: {cpu_description()}, {os.cpu_count()} logical CPUs{limited}", flush=True)
    print(f"# {ours.hello['engine']}", flush=True)
    print(f"# twin: PyTorch {twin.hello['torch']}, {twin.hello['threads']} threads"
          f"{' (stock environment)' if a.stock_twin else ', same thread and malloc settings as genphys'}; ddpmpp-small {flops / 1e9:.3f} GFLOP per image", flush=True)

    n_sample = 64 if a.quick else 256
    items = [
        ("train step, B=128", {"what": "train", "batch": 128}),
        ("forward, B=64", {"what": "forward", "batch": 64, "repeat": 3}),
        ("forward, B=256", {"what": "forward", "batch": 256, "repeat": 3}),
        (f"35-NFE sampling, {n_sample} images", {"what": "sample", "batch": n_sample, "nfe": 35}),
    ]
    # bfloat16 inference (genphys --bf16; the twin under torch.autocast) only where the CPU has the
    # instructions: elsewhere oneDNN emulates them and genphys refuses --bf16.
    if bf16:
        items.append((f"35-NFE sampling in bf16, {n_sample} images", {"what": "sample", "batch": n_sample, "nfe": 35, "bf16": True}))
    items += [
        ("PFGM++ radii, N=3072, 10^6 draws", {"what": "radii", "batch": 1000000, "dim": 3072, "streams": False}),
        ("exact field, 1000 x 1000 pairs, N=784", {"what": "field", "batch": 1000, "data": 1000, "dim": 784}),
    ]
    ceilings = [("conv", {"what": "conv", "batch": 64, "repeat": 3}), ("sgemm", {"what": "matmul", "batch": 512}),
                ("dgemm", {"what": "matmul", "batch": 512, "double": True})]
    # Warm-up: oneDNN generates its kernels on first use; the allocator settles.
    for _, req in items[:3] + ceilings:
        ours.ask(req)
        twin.ask(req)
    times = {name: ([], []) for name, _ in items + ceilings}
    # Streams per draw (genphys kernel's reproducible mode) on genphys only: the twin has no such mode.
    per_draw = []
    # genphys's forward pass at B = 64 as its convolutions alone, each timed by itself (where the
    # time goes: the rest of the pass is norms, sums, concatenations, resampling).
    conv_parts = {False: [], True: []}
    for rep in range(a.reps):
        for name, req in items + ceilings:
            pair = [(ours, 0), (twin, 1)] if rep % 2 == 0 else [(twin, 1), (ours, 0)]
            for server, k in pair:
                times[name][k].append(server.ask(req))
        per_draw.append(ours.ask({"what": "radii", "batch": 200000, "dim": 3072, "streams": True}))
        for nhwc in (False, True):
            conv_parts[nhwc].append(ours.ask({"what": "network_convs", "batch": 64, "nhwc": nhwc, "repeat": 3}))
        print(f"# repetition {rep + 1}/{a.reps} done", file=sys.stderr, flush=True)
    ours.close()
    twin.close()

    med = {name: (statistics.median(g), statistics.median(t)) for name, (g, t) in times.items()}
    conv_peak = 2 * 64 * 64 * 64 * 9 * 28 * 28 / min(times["conv"][0]) / 1e9
    sgemm_peak = 2 * 512**3 / min(times["sgemm"][0]) / 1e9
    dgemm_peak = 2 * 512**3 / min(times["dgemm"][0]) / 1e9
    rows = []
    for name, req in items:
        g, t = med[name]
        note = ""
        if req["what"] == "forward":
            rate = flops * req["batch"] / g / 1e9
            note = f"{rate:.0f} GFLOP/s = {100 * rate / conv_peak:.0f}% of the conv ceiling"
        elif req["what"] == "train":
            note = f"{req['batch'] / g:.0f} images/s"
        elif req["what"] == "sample":
            note = f"{g / req['batch'] * 64:.2f} s per 64 images"
        elif req["what"] == "radii":
            note = (f"{req['batch'] / g:.3g} radii/s (one stream); {200000 / statistics.median(per_draw):.3g}/s "
                    f"with a stream per draw")
        elif req["what"] == "field":
            pairs = req["batch"] * req["data"] / g
            # distances as a GEMM (2N flops per pair) plus the weighted sum (2N per pair)
            note = f"{pairs:.3g} pairs/s = {4 * req['dim'] * pairs / 1e9:.1f} GFLOP/s, {100 * 4 * req['dim'] * pairs / 1e9 / dgemm_peak:.0f}% of dgemm"
        rows.append((name, g, t, t / g, note))
    print(f"# ceilings (genphys process, best of {a.reps}): 3x3 64->64 conv {conv_peak:.0f} GFLOP/s (oneDNN, NHWC, "
          f"B=64, 28x28); 512^3 sgemm {sgemm_peak:.0f}, dgemm {dgemm_peak:.0f} GFLOP/s")
    fwd64 = med["forward, B=64"][0]
    conv_nchw, conv_nhwc = (statistics.median(conv_parts[k]) for k in (False, True))
    print(f"# genphys's forward at B=64 as its convolutions alone (each timed by itself, medians): NCHW "
          f"{conv_nchw:.4g} s, NHWC {conv_nhwc:.4g} s = {100 * conv_nhwc / fwd64:.0f}% of the forward pass")
    print(f"# medians of {a.reps} interleaved repetitions")
    print("| measurement | genphys (s) | PyTorch twin (s) | ratio | |")
    print("|---|---:|---:|---:|---|")
    for name, g, t, r, note in rows:
        print(f"| {name} | {g:.4g} | {t:.4g} | {r:.2f}x | {note} |")
    bf16_rows = [row for row in rows if "bf16" in row[0]]
    if bf16_rows:
        fp32_twin = next(row[2] for row in rows if row[0].startswith("35-NFE sampling,"))
        print(f"# genphys --bf16 against the twin in float32 (the reference's precision): {fp32_twin / bf16_rows[0][1]:.2f}x")
    elif limits:
        print("# no bfloat16 row: limited to AVX2, which has no bfloat16 instructions")
    else:
        print("# no bfloat16 row: this CPU has no bfloat16 instructions (avx512_bf16, amx_bf16)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cpu": cpu_description(), "isa": a.isa, "stock_twin": a.stock_twin, "rows": rows, "conv_peak": conv_peak, "sgemm_peak": sgemm_peak, "dgemm_peak": dgemm_peak,
                       "times": times, "per_draw_radii_s": per_draw,
                       "network_convs_s": {"nchw": conv_parts[False], "nhwc": conv_parts[True]}}, f, indent=1)


if __name__ == "__main__":
    main()
