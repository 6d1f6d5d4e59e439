#!/usr/bin/env python3
"""Embedding throughput: `hearth embed` against sentence-transformers (torch, CPU) on the same 1000 sentences.

Usage (from the repository root, after `swift build -c release` and `scripts/fetch-model minilm`):
    python3 -m venv /tmp/stvenv && /tmp/stvenv/bin/pip install sentence-transformers   # once, outside the repo
    HF_HUB_OFFLINE=1 /tmp/stvenv/bin/python bench/embed_throughput.py [--rounds 3]

Sentences: the non-empty lines of ../shared/reference/ppl-public.txt (553), its sentences (232, split after
. ; : ! ?), the 114 texts of corpus.json, then the lines again from the start until there are 1000. Both sides
embed them with batch size 32 on 2 threads; each side's time is the embedding call alone (model loading
excluded), best of --rounds after one warm-up. Also reports the CPU seconds each side used (the embedding call's
process time for sentence-transformers; the whole `hearth embed` process, loading and JSON output included, for
Hearth), which a machine shared with other jobs distorts less than wall time, and checks that both sides agree
(cosine per sentence).
"""
import argparse, json, os, re, resource, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ref = os.path.join(root, "..", "shared", "reference")


def sentences(n=1000):
    with open(os.path.join(ref, "ppl-public.txt"), encoding="utf-8") as f:
        text = f.read()
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    sents = [s for s in re.split(r"(?<=[.;:!?])\s+", " ".join(text.split())) if s]
    with open(os.path.join(ref, "corpus.json"), encoding="utf-8") as f:
        corpus = [t["text"] for t in json.load(f)]
    out = lines + sents + corpus
    i = 0
    while len(out) < n:
        out.append(lines[i % len(lines)])
        i += 1
    return out[:n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(root, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--hearth", default=os.path.join(root, ".build", "release", "hearth"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    texts = sentences()

    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(args.threads)
    st = SentenceTransformer(args.model, device="cpu")
    st.encode(texts[:64], batch_size=args.batch)
    st_times, st_cpu, st_emb = [], [], None
    for _ in range(args.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        st_emb = st.encode(texts, batch_size=args.batch, normalize_embeddings=False)
        st_times.append(time.perf_counter() - t0)
        st_cpu.append(time.process_time() - c0)

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
        path = f.name
    hearth_times, hearth_cpu, hearth_emb = [], [], None
    cmd = [args.hearth, "embed", args.model, "--input-json", "--json", "--verbose",
           "--threads", str(args.threads), "--batch-size", str(args.batch)]
    for r in range(args.rounds + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(path, "rb") as stdin:
            p = subprocess.run(cmd, stdin=stdin, capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        m = re.search(r"in ([0-9.]+) s", p.stderr.decode())
        if r > 0:  # round 0 warms the page cache
            hearth_times.append(float(m.group(1)))
            hearth_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        hearth_emb = json.loads(p.stdout)["embeddings"]
    os.unlink(path)

    import numpy as np
    a, b = np.asarray(hearth_emb), np.asarray(st_emb)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    st_best, h_best = min(st_times), min(hearth_times)
    print(json.dumps({
        "sentences": len(texts), "batch_size": args.batch, "threads": args.threads,
        "sentence_transformers_s": [round(t, 3) for t in st_times],
        "hearth_s": [round(t, 3) for t in hearth_times],
        "sentence_transformers_per_s": round(len(texts) / st_best, 1),
        "hearth_per_s": round(len(texts) / h_best, 1),
        "speedup": round(st_best / h_best, 2),
        "sentence_transformers_cpu_s": [round(t, 2) for t in st_cpu],
        "hearth_cpu_s": [round(t, 2) for t in hearth_cpu],
        "cpu_ratio": round(min(st_cpu) / min(hearth_cpu), 2),
        "load_average": os.getloadavg(),
        "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()),
        "torch": torch.__version__, "sentence_transformers": __import__("sentence_transformers").__version__,
    }, indent=1))


if __name__ == "__main__":
    sys.exit(main())
