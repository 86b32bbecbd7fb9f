#!/usr/bin/env python3
"""Writes the structured part of the seed corpora (tests/fuzz/corpus/<target>/mode-*): for
targets whose first byte(s) select a mode and whose later bytes are read as fields (FuzzInput),
a few deterministic pseudo-random inputs per mode are enough for libFuzzer to start from; the
hand-written seeds (text-*, raw-*, ...) are committed as they are. Re-running it rewrites the
same files (fixed seed)."""
import os, random, sys

# target: (number of modes, how a mode is put in the first byte, seeds per mode, length range)
TARGETS = {
    'tokens': (5, lambda m: m, 5, (16, 120)),
    'jwt': (4, lambda m: m, 6, (24, 160)),
    'config': (1, lambda m: 1, 12, (10, 80)),
    'codec': (1, lambda m: 1, 24, (8, 120)),
    'sigv4': (4, lambda m: m, 6, (24, 200)),
    'identity_api': (2, lambda m: m, 10, (16, 200)),
    'sync_api': (2, lambda m: m, 10, (16, 200)),
    'native_session': (1, lambda m: 1, 16, (32, 400)),
    'client_sync': (1, lambda m: 0, 16, (32, 400)),
    'cache_file': (1, lambda m: 0, 12, (16, 200)),
}

def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    only = sys.argv[1:]
    for name, (modes, first, per, (lo, hi)) in TARGETS.items():
        if only and name not in only:
            continue
        rnd = random.Random(name)
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        for m in range(modes):
            for i in range(per):
                body = bytes(rnd.randrange(256) for _ in range(rnd.randint(lo, hi)))
                with open(os.path.join(d, 'mode%d-%02d' % (m, i)), 'wb') as f:
                    f.write(bytes([first(m)]) + body)

if __name__ == '__main__':
    main()
